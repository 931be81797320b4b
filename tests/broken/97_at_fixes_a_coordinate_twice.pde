# expect: pdenet::check::duplicate_locus "x = 1"
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary u = 0 at x = 0, x = 1
