# PINNacle's GS (Hao et al. 2024, `GrayScottEquation`): the Gray–Scott reaction–
# diffusion system on [−1, 1]² over t ∈ [0, 200], from two offset Gaussian spots,
# with no boundary condition (as PINNacle poses it; its decay rate d is κ here, d being
# the derivative operator). PINNacle's reference
# (ref/grayscott.dat) is not in ../shared/data/pinnacle, so this is not scored.
domain x ∈ [-1, 1], y ∈ [-1, 1], t ∈ [0, 200]
field  u(x, y, t), v(x, y, t)
const  b = 0.04, κ = 0.1, ε1 = 1e-5, ε2 = 5e-6

equation u_t = ε1*(u_xx + u_yy) + b*(1 - u) - u*v^2
equation v_t = ε2*(v_xx + v_yy) - κ*v + u*v^2
initial  u = 1 - exp(-80*((x + 0.05)^2 + (y + 0.02)^2))   on t = 0
initial  v = exp(-80*((x - 0.05)^2 + (y - 0.02)^2))       on t = 0

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 halton, initial 2048
train   adam(lr = 1e-3, epochs = 20000)
