# Poisson's equation on an annulus (a shape domain, a normal derivative on the hole),
# exact solution u = x² + y²: a few epochs for the training smoke test.
shape  inner = disk([0, 0], 0.25), outer = disk([0, 0], 1)
domain (x, y) ∈ outer − inner
field  u(x, y)
equation u_xx + u_yy = 4
boundary ∂n(u) = -0.5   on inner
boundary u = 1          on outer
network mlp(width = 10, depth = 2, activation = tanh)
sample  collocation 300 halton, boundary 100
train   adam(lr = 1e-2, epochs = 100) then lbfgs(iterations = 100)
