# A fourth-order residual on Burgers' domain and network: the speed comparison's
# `burgers_torch.py --net qres --pde ks` (u_t + u·u_x + u_xx + u_xxxx, 10 000 points).
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)

equation u_t + u*u_x + u_xx + u_xxxx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network qres(width = 10, depth = 8, activation = tanh)
sample  collocation 10000 latin, initial 50, boundary 50
train   adam(lr = 1e-3, epochs = 2000)
