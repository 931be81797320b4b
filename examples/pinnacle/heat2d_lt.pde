# PINNacle's Heat 2d-LT (Hao et al. 2024, `HeatLongTime`): a slowly diffusing field
# on the unit square over a long time, t ∈ [0, 100], driven by a source that grows
# with sin(u²). Reference: PINNacle's COMSOL solution (ref/heat_longtime.dat), a
# 16 × 12 × 501 grid of cell centres.
domain x ∈ [0, 1], y ∈ [0, 1], t ∈ [0, 100]
field  u(x, y, t)

equation u_t - 0.001*(u_xx + u_yy)
         - 5*sin(u^2)*(1 + 2*sin(π*t/4))*sin(4*π*x)*sin(2*π*y) = 0
initial  u = sin(4*π*x)*sin(3*π*y)   on t = 0
boundary u = 0                       on x = 0, x = 1, y = 0, y = 1

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 8192 halton, initial 2048, boundary 2048
train   adam(lr = 1e-3, epochs = 3000) then lbfgs(iterations = 6000)
reference "../data/heat2d_lt.mat" { x = x, y = y, t = t, u = usol[x, y, t] }
