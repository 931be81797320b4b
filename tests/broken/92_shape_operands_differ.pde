# expect: pdenet::check::shape_dimensions "disk([0, 0], 1) ∪ ball([0, 0, 0], 1)"
domain (x, y) ∈ disk([0, 0], 1) ∪ ball([0, 0, 0], 1)
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary u = 0 on x = 0
