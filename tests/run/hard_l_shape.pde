# Hard constraints on a non-convex polygon: u = dist(plate)·net is 0 on the L-shape's
# six edges (two of them re-entrant) and on the hole's circle whatever the network
# does. Poisson −Δu = 1; the run test checks u = 0 on boundary points.
shape  ell  = polygon([0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2])
shape  hole = disk([0.5, 0.5], 0.2)
shape  plate = ell − hole
domain (x, y) ∈ plate
field  u(x, y) = dist(plate)*net(x, y)
equation u_xx + u_yy = -1
network mlp(width = 16, depth = 2, activation = tanh)
sample  collocation 400 halton
train   adam(lr = 1e-2, epochs = 200) then lbfgs(iterations = 100)
