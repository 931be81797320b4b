# Allen–Cahn, forward problem in discrete time (Raissi et al. 2019): one 100-stage
# implicit Runge–Kutta step from t = 0.1 to t = 0.9, periodic in x.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)

equation u_t - 0.0001*u_xx + 5*u^3 - 5*u = 0
scheme   irk(stages = 100) from t = 0.1 to t = 0.9
periodic x

data      "AC.mat" { x = x, t = tt, u = uu[x, t] } at t = 0.1 sample 200
reference "AC.mat" { x = x, t = tt, u = uu[x, t] }

network qres(width = 50, depth = 4, activation = tanh)
train   adam(lr = 1e-3, epochs = 10000) then lbfgs(iterations = 20000, tol = 1e-12)
