# PINNacle's Poisson-ND (Hao et al. 2024, `PoissonND`, dim = 5): Poisson's equation on
# the unit 5-cube, Δu = −(π²/4)·Σ sin(π/2·x_i), with Dirichlet data from the exact
# solution u = Σ sin(π/2·x_i), which is also the reference.
domain x1 ∈ [0, 1], x2 ∈ [0, 1], x3 ∈ [0, 1], x4 ∈ [0, 1], x5 ∈ [0, 1]
field  u(x1, x2, x3, x4, x5)
let    s = sin(π/2*x1) + sin(π/2*x2) + sin(π/2*x3) + sin(π/2*x4) + sin(π/2*x5)

equation u_x1x1 + u_x2x2 + u_x3x3 + u_x4x4 + u_x5x5 + π^2/4*s = 0
boundary u = s   on x1 = 0, x1 = 1, x2 = 0, x2 = 1, x3 = 0, x3 = 1,
                    x4 = 0, x4 = 1, x5 = 0, x5 = 1

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 4096 halton, boundary 2048
train   adam(lr = 1e-3, epochs = 2000) then lbfgs(iterations = 3000)
reference u = s
