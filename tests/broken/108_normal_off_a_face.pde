# expect: pdenet::check::unknown_coordinate "n" help "a face of the domain's box"
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary ∂n(u) = 0 on x = 0.5
boundary u = 0 on x = 0, x = 1, y = 0, y = 1
