# PINNacle's Heat 2d-VC (Hao et al. 2024, `HeatDarcy`): heat with a varying
# coefficient a(x, y), given as a 256 × 256 table, on [0, 1]² × [0, 5], driven by a
# source, from rest, held at zero on the boundary. PINNacle's own table is not public:
# a(x, y) here is a stand-in of the same kind (exp of a Gaussian random field, α = 4)
# from scripts/make_random_coef.py, so PINNacle's reference does not apply. The
# table is a cubic B-spline, so a_x, a_y would be there too: this equation needs a.
domain x ∈ [0, 1], y ∈ [0, 1], t ∈ [0, 5]
field  u(x, y, t)
table  "../data/heat2d_vc_coef.mat" { x = x, y = y, a = a[x, y] }

equation u_t = a*(u_xx + u_yy) + 200*sin(π*x)*sin(5*π*y)*sin(π*t)
initial  u = 0   on t = 0
boundary u = 0   on x = 0, x = 1, y = 0, y = 1

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 halton, boundary 2048, initial 2048
train   adam(lr = 1e-3, epochs = 20000)
