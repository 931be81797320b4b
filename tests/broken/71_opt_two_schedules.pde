# expect: pdenet::check::two_schedules "0.5" help "keep one"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network qres(width = 10, depth = 8, activation = tanh)
train adam(lr = 1e-3, epochs = 100, decay = 0.5, every = 10, cosine = 1e-5)
