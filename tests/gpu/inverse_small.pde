# tests/run/inverse_small.pde for the GPU tests: unknown coefficients (one positive),
# data with noise and a small MLP, which lavapipe compiles in seconds.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
param  λ1 = 0, λ2 = exp(-6) positive
equation u_t + λ1*u*u_x - λ2*u_xx = 0
data "burgers_shock.mat" { x = x, t = t, u = usol[x, t] } sample 300 noise 1%
network mlp(width = 10, depth = 3, activation = tanh)
train   adam(lr = 1e-3, epochs = 100) then lbfgs(iterations = 30)
