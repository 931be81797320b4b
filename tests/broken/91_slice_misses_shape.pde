# expect: pdenet::check::outside_domain "x = 0"
domain (x, y) ∈ disk([0, 0], 1) − rectangle([-1, -1], [0.5, 1])
field  u(x, y)
equation u_xx + u_yy = 1
network mlp(width = 10, depth = 2, activation = tanh)
boundary u = 0 on x = 0
