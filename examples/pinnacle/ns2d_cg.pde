# PINNacle's NS 2d-CG (Hao et al. 2024, `NS2D_BackStep`): steady flow at ν = 1/100 over
# a backward-facing step: the channel [0, 4] × [0, 2] without the block [0, 2] × [1, 2],
# a parabolic inflow on x = 0, p = 0 at the outlet, no slip elsewhere. Reference:
# PINNacle's COMSOL solution (ref/ns_0_obstacle.dat), 12 910 scattered mesh nodes.
shape  channel = rectangle([0, 0], [4, 2])
shape  step    = rectangle([0, 1], [2, 2])
domain (x, y) ∈ channel − step
field  u(x, y), v(x, y), p(x, y)
const  ν = 1/100

equation u*u_x + v*u_y + p_x - ν*(u_xx + u_yy) = 0
equation u*v_x + v*v_y + p_y - ν*(v_xx + v_yy) = 0
equation u_x + v_y = 0

boundary u = 4*y*(1 - y)   on x = 0
boundary p = 0             on x = 4
boundary u = 0             on y = 0, y = 2, step
boundary v = 0             on x = 0, y = 0, y = 2, step

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 8192 halton, boundary 2048
train   adam(lr = 1e-3, epochs = 3000) then lbfgs(iterations = 12000)
reference "../data/ns2d_cg.mat" { x = x, y = y, u = u, v = v, p = p }
