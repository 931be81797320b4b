# Hard constraints on a CSG domain: u = dist(plate)·net is 0 on the square's sides and
# on the hole's circle whatever the network does. Poisson −Δu = 1; the run test checks
# u = 0 on sampled boundary points and a falling loss.
shape  square = rectangle([-1, -1], [1, 1]), hole = disk([0.3, 0.2], 0.3)
shape  plate = square − hole
domain (x, y) ∈ plate
field  u(x, y) = dist(plate)*net(x, y)
equation u_xx + u_yy = -1
network mlp(width = 16, depth = 2, activation = tanh)
sample  collocation 400 halton
train   adam(lr = 1e-2, epochs = 200) then lbfgs(iterations = 100)
