# expect: pdenet::check::empty_shape "rectangle([1, 0], [0, 1])"
domain (x, y) ∈ rectangle([1, 0], [0, 1])
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary u = 0 on x = 0
