# examples/schrodinger.pde at a size lavapipe compiles in seconds (width 10 × 2), so
# the GPU tests check its features in CI; `PDENET_ONLY=schrodinger` checks the full one.
domain x ∈ [-5, 5], t ∈ [0, π/2]
field  h(x, t): complex(u, v)

equation i*h_t + 0.5*h_xx + |h|^2*h = 0

initial  h = 2*sech(x)      on t = 0
periodic x

network qres(width = 10, depth = 2, activation = tanh)
sample  collocation 20000 latin, initial 50, periodic 50
train   adam(lr = 1e-3, epochs = 10)
