# expect: pdenet::check::unknown_coordinate "u_x1x3"
domain x1 ∈ [0, 1], x2 ∈ [0, 1]
field  u(x1, x2)
equation u_x1x1 + u_x1x3 = 1
boundary u = 0 on x1 = 0
network mlp(width = 10, depth = 2, activation = tanh)
