# expect: pdenet::check::dist "b"
shape  plate = disk([0, 0], 1), b = ball([0, 0, 0], 1)
domain (x, y) ∈ plate
field  u(x, y) = dist(b)*net(x, y)
equation u_xx + u_yy = -1
network mlp(width = 10, depth = 2, activation = tanh)
