# PINNacle's Wave 2d-MS (Hao et al. 2024, `Wave2D_LongTime`): u_tt = u_xx + 2u_yy on
# the unit square over t ∈ [0, 100], with initial and boundary values from PINNacle's
# `ref_sol` below. That function does not solve the equation: each of its two modes
# leaves u_tt − u_xx − 2u_yy = −2π²·(the mode), so it is no reference, and this file
# is not scored; it poses the problem as PINNacle does.
domain x ∈ [0, 1], y ∈ [0, 1], t ∈ [0, 100]
field  u(x, y, t)
let    sol = sin(π*x)*sinh(π*y)*cos(π*t) + sinh(3*π*x)*sin(2*π*y)*cos(π*t)

equation u_tt = u_xx + 2*u_yy
initial  u = sol   on t = 0
boundary u = sol   on x = 0, x = 1, y = 0, y = 1

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 halton, initial 2048, boundary 2048
train   adam(lr = 1e-3, epochs = 20000)
