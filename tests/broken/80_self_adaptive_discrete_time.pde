# expect: pdenet::check::self_adaptive_without_points "adam(lr = 1e-3, epochs = 100, self_adaptive = 5e-3)" help "balance = gradnorm"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t - 0.0001*u_xx + 5*u^3 - 5*u = 0
scheme   irk(stages = 10) from t = 0.1 to t = 0.9
periodic x
data "AC.mat" { x = x, t = tt, u = uu[x, t] } at t = 0.1 sample 200
network qres(width = 50, depth = 4, activation = tanh)
train adam(lr = 1e-3, epochs = 100, self_adaptive = 5e-3)
