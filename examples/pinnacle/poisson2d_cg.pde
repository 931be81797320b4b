# PINNacle's Poisson 2d-CG (Hao et al. 2024, `PoissonBoltzmann2D`): a screened Poisson
# (Poisson–Boltzmann) equation on a square with four round holes of different sizes;
# u = 0.2 on the square's edges and 1 on the circles. Reference: PINNacle's COMSOL
# solution (ref/poisson_boltzmann2d.dat), 3 236 scattered mesh nodes. Both conditions
# are built into u (the blend of the two distance functions is 0.2 on the edges and 1
# on the circles; dist(plate)·net vanishes on all of them), so only the equation is
# trained.
shape  square = rectangle([-1, -1], [1, 1])
shape  holes  = disk([0.5, 0.5], 0.2) ∪ disk([0.4, -0.4], 0.4)
              ∪ disk([-0.2, -0.7], 0.1) ∪ disk([-0.6, 0.5], 0.3)
shape  plate  = square − holes
domain (x, y) ∈ plate
let    blend = (dist(square) + 0.2*dist(holes))/(dist(square) + dist(holes))
field  u(x, y) = blend + dist(plate)*net(x, y)

equation -(u_xx + u_yy) + 64*u = 10*(17 + x^2 + y^2)*sin(π*x)*sin(4*π*y)

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 8192 halton
train   adam(lr = 1e-3, epochs = 2000) then lbfgs(iterations = 4000)
reference "../data/poisson2d_cg.mat" { x = x, y = y, u = u }
