# expect: pdenet::check::self_adaptive_setting_alone "self_adaptive_every" help "self_adaptive = 5e-3"
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y)
equation u_xx + u_yy = -2*π^2*sin(π*x)*sin(π*y)
boundary u = 0 on x = 0, x = 1, y = 0, y = 1
network mlp(width = 10, depth = 3, activation = tanh)
sample collocation 1000 latin, boundary 100
train adam(lr = 1e-3, epochs = 100, self_adaptive_every = 5)
