# expect: pdenet::check::rad_without_residual "rad(every = 100)" help "move `rad(...)` to the collocation set"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network qres(width = 10, depth = 8, activation = tanh)
sample collocation 1000 latin, boundary 100 uniform rad(every = 100)
train adam(lr = 1e-3, epochs = 100)
