# PINNacle's Burgers 1d-C (Hao et al. 2024, `Burgers1D`): viscous Burgers on
# [−1, 1] × [0, 1]. Reference: PINNacle's COMSOL solution (ref/burgers1d.dat), a
# 101 × 11 grid; it differs from Raissi's burgers_shock.mat by up to 1.7 % (rel. L2
# at t = 0.3), which bounds the error any exact solver scores here. Trained as
# examples/burgers_ssbroyden.pde is: a short Adam warm-up, then self-scaled Broyden.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network mlp(width = 20, depth = 4, activation = tanh)
sample  collocation 10000 latin rad(every = 500), initial 200, boundary 200
train   adam(lr = 1e-3, epochs = 500) then ssbroyden(iterations = 5000)
reference "../data/burgers1d.mat" { x = x, t = t, u = usol[x, t] }
