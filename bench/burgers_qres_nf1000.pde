# Burgers forward (examples/burgers.pde) with 1 000 collocation points: the small
# point set of the speed comparison (burgers_torch.py --net qres --nf 1000).
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network qres(width = 10, depth = 8, activation = tanh)
sample  collocation 1000 latin, initial 50, boundary 50
train   adam(lr = 1e-3, epochs = 2000)
