# PINNacle's Wave 1d-C (Hao et al. 2024, `Wave1D`, C = 2, a = 4): the wave equation
# on [0, 1] over t ∈ [0, 1] with two standing modes, the faster four times the
# slower's frequency. The exact solution is the initial data and the reference.
# The terms are balanced by their neural tangent kernels (PINNacle's best method).
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t)
let    sol = sin(π*x)*cos(2*π*t) + 0.5*sin(4*π*x)*cos(8*π*t)

equation u_tt - 4*u_xx = 0
initial  u = sol     on t = 0
initial  u_t = 0     on t = 0
boundary u = 0       on x = 0, x = 1

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 8192 halton, initial 1024, boundary 1024
train   adam(lr = 1e-3, epochs = 3000, balance = ntk, balance_every = 100)
        then lbfgs(iterations = 6000)
reference u = sol
