# PINNacle's Poisson 2d-C (Hao et al. 2024, `Poisson2D_Classic`): Laplace's equation on
# a square with four round holes; u = 1 on the square's edges and 0 on the circles.
# Reference: PINNacle's COMSOL solution (ref/poisson1_cg_data.dat), 1 246 scattered
# mesh nodes. Both conditions are built into u: the blend of the two distance
# functions is 1 on the square's edges and 0 on the circles, and dist(plate)·net
# vanishes on every edge (Sukumar & Srivastava 2022's transfinite form), so only the
# equation is trained.
shape  square = rectangle([-0.5, -0.5], [0.5, 0.5])
shape  holes  = disk([0.3, 0.3], 0.1) ∪ disk([-0.3, 0.3], 0.1)
              ∪ disk([0.3, -0.3], 0.1) ∪ disk([-0.3, -0.3], 0.1)
shape  plate  = square − holes
domain (x, y) ∈ plate
field  u(x, y) = dist(holes)/(dist(holes) + dist(square)) + dist(plate)*net(x, y)

equation u_xx + u_yy = 0

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 8192 halton
train   adam(lr = 1e-3, epochs = 2000) then lbfgs(iterations = 3000)
reference "../data/poisson2d_c.mat" { x = x, y = y, u = u }
