# PINNacle's Burgers 2d-C (Hao et al. 2024, `Burgers2D`): 2-D viscous Burgers at
# ν = 0.001 on the periodic square [0, 4]² over t ∈ [0, 1]. PINNacle's initial
# velocities (ref/burgers2d_init_{u,v}_0.dat) are not public: u0, v0 here are stand-in
# random fields (`scripts/make_random_coef.py burgers2d_c`), so PINNacle's reference
# does not apply and this file is not scored.
domain x ∈ [0, 4], y ∈ [0, 4], t ∈ [0, 1]
field  u(x, y, t), v(x, y, t)
table  "../data/burgers2d_c_init.mat" { x = x, y = y, u0 = u0[x, y], v0 = v0[x, y] }
const  ν = 0.001

equation u_t + u*u_x + v*u_y = ν*(u_xx + u_yy)
equation v_t + u*v_x + v*v_y = ν*(v_xx + v_yy)
initial  u = u0   on t = 0
initial  v = v0   on t = 0
periodic x
periodic y

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 halton, initial 2048, boundary 2048
train   adam(lr = 1e-3, epochs = 20000)
