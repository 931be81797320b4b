# examples/allen_cahn.pde at a size lavapipe compiles in seconds (4 stages, width 10 × 2), so
# the GPU tests check its features in CI; `PDENET_ONLY=allen_cahn` checks the full one.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)

equation u_t - 0.0001*u_xx + 5*u^3 - 5*u = 0
scheme   irk(stages = 4) from t = 0.1 to t = 0.9
periodic x

data      "AC.mat" { x = x, t = tt, u = uu[x, t] } at t = 0.1 sample 200

network qres(width = 10, depth = 2, activation = tanh)
train   adam(lr = 1e-3, epochs = 10)
