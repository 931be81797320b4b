# A learning rate far too large: the loss overflows and the run must stop cleanly.
domain x ∈ [0, 1]
field  u(x)
equation u_xx = exp(10*u)
boundary u = 0 on x = 0, x = 1
network mlp(width = 8, depth = 2, activation = tanh)
sample  collocation 64 uniform, boundary 8
train   adam(lr = 1e4, epochs = 2000)
