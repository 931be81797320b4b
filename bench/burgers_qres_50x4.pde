# Burgers forward (examples/burgers.pde) on Schrödinger's width: QRes (2,50×4,1) and
# 20 000 collocation points, the wide case of the speed comparison
# (burgers_torch.py --net qres --width 50 --depth 4 --nf 20000).
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network qres(width = 50, depth = 4, activation = tanh)
sample  collocation 20000 latin, initial 50, boundary 50
train   adam(lr = 1e-3, epochs = 2000)
