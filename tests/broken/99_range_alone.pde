# expect: pdenet::check::range_on_locus "y ∈ [0, 0.5]"
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary u = 0 on x = 0
boundary u = 1 on y ∈ [0, 0.5]
