# PINNacle's Wave 2d-CG (Hao et al. 2024, `Wave2D_Heterogeneous`): a wave in a medium
# of varying speed² c(x, y) on [−1, 1]² over t ∈ [0, 5], from a Gaussian bump at rest,
# insulated edges. PINNacle's c table is not public: c here is a stand-in of the same
# kind (exp of a Gaussian random field, α = 4; `scripts/make_random_coef.py wave2d_cg`),
# so PINNacle's reference does not apply and this file is not scored.
domain x ∈ [-1, 1], y ∈ [-1, 1], t ∈ [0, 5]
field  u(x, y, t)
table  "../data/wave2d_cg_coef.mat" { x = x, y = y, c = c[x, y] }

equation u_xx + u_yy - u_tt/c = 0
initial  u = exp(-((x + 0.5)^2 + y^2)/(2*0.3^2))   on t = 0
initial  u_t = 0                                   on t = 0
boundary ∂n(u) = 0                                 on x = -1, x = 1, y = -1, y = 1

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 halton, initial 2048, boundary 2048
train   adam(lr = 1e-3, epochs = 20000)
