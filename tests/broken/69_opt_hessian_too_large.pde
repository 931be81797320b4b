# expect: pdenet::check::hessian_too_large "ssbfgs(iterations = 10)" help "use lbfgs"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network mlp(width = 3000, depth = 4, activation = tanh)
train adam(lr = 1e-3, epochs = 100) then ssbfgs(iterations = 10)
