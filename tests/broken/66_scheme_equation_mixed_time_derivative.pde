# expect: pdenet::scheme::equation "equation u_t - u_xt = 0" help "free of time derivatives"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t - u_xt = 0
scheme   irk(stages = 10) from t = 0.1 to t = 0.9
periodic x
data "AC.mat" { x = x, t = tt, u = uu[x, t] } at t = 0.1 sample 200
network qres(width = 50, depth = 4, activation = tanh)
