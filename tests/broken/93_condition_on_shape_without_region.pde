# expect: pdenet::check::unknown_coordinate "hole"
shape  hole = disk([0.5, 0.5], 0.1)
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary u = 0 on hole
