# Burgers forward (examples/burgers.pde) on PINNacle's network: MLP (2,100×5,1) and
# 8 192 collocation points, the widest case of the speed comparison
# (burgers_torch.py --net mlp --width 100 --depth 5 --nf 8192).
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 latin, initial 50, boundary 50
train   adam(lr = 1e-3, epochs = 2000)
