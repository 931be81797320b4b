# Two networks: u over (x, t) and the conductivity a(x) over x alone, with data on u.
# The JIT and the GPU engine are compared with the interpreter on it.
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t), a(x)
equation u_t = d(a*u_x, x)
initial  u = sin(π*x)   on t = 0
boundary u = 0          on x = 0, x = 1
boundary a = 1 + x      on x = 0, x = 1
network mlp(width = 6, depth = 2, activation = tanh)
sample  collocation 100 latin, initial 20, boundary 20
train   adam(lr = 1e-3, epochs = 10)
