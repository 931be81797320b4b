# Causal weights in time: the equation's squared residuals are weighed by a column of
# per-point weights (the GPU back end's tests give random ones) and compared with the
# interpreter.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x)    on t = 0
boundary u = 0            on x = -1, x = 1
network mlp(width = 8, depth = 2, activation = tanh)
sample  collocation 100 latin, initial 20, boundary 20
train   adam(lr = 1e-3, epochs = 10, causal = 1.0)
