# expect: pdenet::check::dist "ell"
shape  ell = polygon([0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2])
domain (x, y) ∈ ell
field  u(x, y) = dist(ell)*net(x, y)
equation u_xx + u_yy = -1
network mlp(width = 10, depth = 2, activation = tanh)
