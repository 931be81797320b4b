# expect: pdenet::check::every_without_decay "every" help "decay = 0.9, every = 1000"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network qres(width = 10, depth = 8, activation = tanh)
train adam(lr = 1e-3, epochs = 100, every = 10)
