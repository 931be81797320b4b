# expect: pdenet::check::unknown_argument "history" help "it takes iterations, tol, c1, c2, reset"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network qres(width = 10, depth = 8, activation = tanh)
train adam(lr = 1e-3, epochs = 100) then ssbroyden(iterations = 100, history = 10)
