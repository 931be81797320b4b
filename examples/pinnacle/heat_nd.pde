# PINNacle's Heat-ND (Hao et al. 2024, `HeatND`, dim = 5): the heat equation in the
# unit 5-ball over t ∈ [0, 1], with a Neumann condition on the sphere and initial
# values from the exact solution u = exp(|x|²/2 + t), which is also the reference.
shape  ball5 = ball([0, 0, 0, 0, 0], 1)
domain (x1, x2, x3, x4, x5) ∈ ball5, t ∈ [0, 1]
field  u(x1, x2, x3, x4, x5, t)
let    r2 = x1^2 + x2^2 + x3^2 + x4^2 + x5^2
let    sol = exp(r2/2 + t)

equation (u_x1x1 + u_x2x2 + u_x3x3 + u_x4x4 + u_x5x5)/5 - r2/5*sol - u_t = 0
boundary ∂n(u) = sol   on ball5
initial  u = sol       on t = 0

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 4096 halton, boundary 1024, initial 1024
train   adam(lr = 1e-3, epochs = 2000) then lbfgs(iterations = 8000)
reference u = sol
