# examples/kdv.pde at a size lavapipe compiles in seconds (4 stages, width 10 × 2), so
# the GPU tests check its features in CI; `PDENET_ONLY=kdv` checks the full one.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
param  λ1 = 0, λ2 = exp(-6) positive

equation u_t + λ1*u*u_x + λ2*u_xxx = 0
scheme   irk(stages = 4) from t = 0.2 to t = 0.8

data "KdV.mat" { x = x, t = tt, u = uu[x, t] } at t = 0.2 sample 199, at t = 0.8 sample 201

network qres(width = 10, depth = 2, activation = tanh)
train   adam(lr = 1e-3, epochs = 10)
