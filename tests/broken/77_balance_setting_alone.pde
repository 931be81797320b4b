# expect: pdenet::check::balance_setting_alone "balance_every" help "add `balance = gradnorm`"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network mlp(width = 10, depth = 3, activation = tanh)
sample collocation 1000 latin, initial 100, boundary 100
train adam(lr = 1e-3, epochs = 100, balance_every = 10)
