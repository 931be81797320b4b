# expect: pdenet::check::wolfe_constants "0.9" help "c1 = 1e-4, c2 = 0.9"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network qres(width = 10, depth = 8, activation = tanh)
train bfgs(iterations = 100, c1 = 0.9, c2 = 0.5)
