# A small inverse Burgers problem: λ1 and λ2 from 300 noisy samples.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
param  λ1 = 0, λ2 = exp(-6) positive
equation u_t + λ1*u*u_x - λ2*u_xx = 0
data "burgers_shock.mat" { x = x, t = t, u = usol[x, t] } sample 300 noise 1%
network mlp(width = 10, depth = 3, activation = tanh)
train   adam(lr = 1e-3, epochs = 100) then lbfgs(iterations = 30)
