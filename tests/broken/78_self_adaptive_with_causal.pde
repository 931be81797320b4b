# expect: pdenet::check::self_adaptive_with_causal "adam(lr = 1e-3, epochs = 100, causal = 1.0)" help "keep one of them"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t - 0.1*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network mlp(width = 10, depth = 3, activation = tanh)
sample collocation 1000 latin, initial 100, boundary 100
train adam(lr = 1e-3, epochs = 100, causal = 1.0) then adam(lr = 1e-3, epochs = 100, self_adaptive = 5e-3)
