# expect: pdenet::check::range_on_locus "y ∈ [0, 0.5]"
shape  hole = disk([0.5, 0.5], 0.1)
domain (x, y) ∈ rectangle([0, 0], [1, 1]) − hole
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary u = 0 on hole, y ∈ [0, 0.5]
