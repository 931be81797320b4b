# expect: pdenet::check::data_axes "s"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
param  λ1 = 0, λ2 = exp(-6) positive
equation u_t + λ1*u*u_x - λ2*u_xx = 0
data "burgers_shock.mat" { x = x, t = t, u = usol[x, s] } sample 2000
network qres(width = 14, depth = 8, activation = tanh)
