# expect: pdenet::check::list_here "[1e-3, 1e-4]" help "one std per input column"
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t - u_xx = 0
network mlp(width = 8, depth = 2)
train  adam(lr = [1e-3, 1e-4], epochs = 10)
