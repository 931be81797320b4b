# Korteweg–de Vries, inverse problem in discrete time, with the plain PINN of Raissi et
# al. 2019 (1,50×4,50): examples/kdv.pde with an MLP in place of the QRes network.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
param  λ1 = 0 exact 1, λ2 = exp(-6) positive exact 0.0025

equation u_t + λ1*u*u_x + λ2*u_xxx = 0
scheme   irk(stages = 50) from t = 0.2 to t = 0.8

data "KdV.mat" { x = x, t = tt, u = uu[x, t] } at t = 0.2 sample 199, at t = 0.8 sample 201

network mlp(width = 50, depth = 4, activation = tanh)
train   adam(lr = 1e-3, epochs = 10000) then lbfgs(iterations = 30000, tol = 1e-12)
