# Every elementary function of the language in one residual: the GPU back end's
# tests compare it with the interpreter (f32: WGSL's built-ins; f64: pdenet's own
# polynomials, since Vulkan has no f64 transcendentals).
domain x ∈ [0.1, 3], t ∈ [0, 1]
field  u(x, t)
equation u_t + sin(5*t)*u_x - log(1 + u*u) - sqrt(1 + x*x)*cos(3*x) + abs(u)*exp(-x) + u^3 = 0
initial  u = sin(x)   on t = 0
network mlp(width = 8, depth = 2, activation = tanh)
sample  collocation 100 latin, initial 20
train   adam(lr = 1e-3, epochs = 10)
