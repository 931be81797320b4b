# expect: pdenet::check::dist "x" help "the file's shapes: plate"
shape  plate = disk([0, 0], 1)
domain (x, y) ∈ plate
field  u(x, y) = dist(x)*net(x, y)
equation u_xx + u_yy = -1
network mlp(width = 10, depth = 2, activation = tanh)
