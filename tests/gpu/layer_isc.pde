# Burgers with a small isc network: the GPU tests check this layer kind here, where
# lavapipe compiles it in seconds, instead of in examples/table4_*.pde.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π
equation u_t + u*u_x - ν*u_xx = 0
initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1
network isc(width = 6, depth = 3, activation = tanh)
sample  collocation 300 latin, initial 50, boundary 50
train   adam(lr = 1e-3, epochs = 10)
