# PINNacle's NS 2d-LT (Hao et al. 2024, `NS2D_LongTime`): unsteady flow at ν = 1/100
# in the channel [0, 2] × [0, 1] over t ∈ [0, 5], driven by an inflow pulsing at three
# frequencies and a body force along y; starts at rest, p = 0 at the outlet. PINNacle's
# reference (ref/ns_long.dat) is not in ../shared/data/pinnacle, so this file is not
# scored.
domain x ∈ [0, 2], y ∈ [0, 1], t ∈ [0, 5]
field  u(x, y, t), v(x, y, t), p(x, y, t)
const  ν = 1/100

equation u_t + u*u_x + v*u_y + p_x - ν*(u_xx + u_yy) = 0
equation v_t + u*v_x + v*v_y + p_y - ν*(v_xx + v_yy) = -sin(π*x)*sin(π*y)*sin(π*t)
equation u_x + v_y = 0

boundary u = sin(π*y)*(sin(π*t) + sin(3*π*t) + sin(5*π*t))   on x = 0
boundary p = 0                                              on x = 2
boundary u = 0                                              on y = 0, y = 1
boundary v = 0                                              on x = 0, y = 0, y = 1
initial  u = 0, v = 0, p = 0   on t = 0

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 8192 halton, initial 2048, boundary 2048
train   adam(lr = 1e-3, epochs = 3000) then lbfgs(iterations = 6000)
