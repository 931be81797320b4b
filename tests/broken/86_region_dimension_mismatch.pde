# expect: pdenet::check::shape_dimensions "(x, y) ∈ ball([0, 0, 0], 1)"
domain (x, y) ∈ ball([0, 0, 0], 1)
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary u = 0 on x = 0
