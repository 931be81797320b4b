# expect: pdenet::check::scheme_initial "initial u = -sin(π*x) on t = 0.1"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t - 0.0001*u_xx + 5*u^3 - 5*u = 0
scheme   irk(stages = 10) from t = 0.1 to t = 0.9
periodic x
initial u = -sin(π*x) on t = 0.1
data "AC.mat" { x = x, t = tt, u = uu[x, t] } at t = 0.1 sample 200
network qres(width = 50, depth = 4, activation = tanh)
