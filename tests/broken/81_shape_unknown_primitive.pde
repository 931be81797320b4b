# expect: pdenet::check::unknown_shape "circle"
shape  hole = circle([0.3, 0.3], 0.1)
domain (x, y) ∈ rectangle([0, 0], [1, 1]) − hole
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary u = 0 on hole
