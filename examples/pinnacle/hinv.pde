# PINNacle's HInv (Hao et al. 2024, `HeatInv`): recover the conductivity a(x, y) of
# u_t = ∇·(a∇u) + f on [−1, 1]² × [0, 1] from 2 500 observations of u with noise of
# standard deviation 0.1 (PINNacle's points, ref/heatinv_points.dat) and a on the
# edges. Exact: u = e^(−t) sin πx sin πy, a = 2 + sin πx sin πy. a shares u's
# network over (x, y, t): declared a(x, y), its own network settles on a ≈ 2, its edge
# value (2.4e-1). The equation's terms are ~40 where u's data are ~0.3: weight 1e-3.
domain x ∈ [-1, 1], y ∈ [-1, 1], t ∈ [0, 1]
field  u(x, y, t), a(x, y, t)
let    sx = sin(π*x), sy = sin(π*y), cx = cos(π*x), cy = cos(π*y)

equation u_t - d(a*u_x, x) - d(a*u_y, y)
         = exp(-t)*((4*π^2 - 1)*sx*sy + π^2*(2*sx^2*sy^2 - cx^2*sy^2 - sx^2*cy^2))  weight 1e-3
boundary a = 2 + sx*sy   on x = -1, x = 1, y = -1, y = 1
data "../data/hinv_data.mat" { x = x, y = y, t = t, u = u } noise 0.1

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 8192 halton, boundary 2048
train   adam(lr = 1e-3, epochs = 3000) then lbfgs(iterations = 6000)
reference u = exp(-t)*sx*sy, a = 2 + sx*sy
