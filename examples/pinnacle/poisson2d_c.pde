# PINNacle's Poisson 2d-C (Hao et al. 2024, `Poisson2D_Classic`): Laplace's equation on
# a square with four round holes; u = 1 on the square's edges and 0 on the circles.
# Reference: PINNacle's COMSOL solution (ref/poisson1_cg_data.dat), 1 246 scattered
# mesh nodes. PINNacle's vanilla PINN: 5×100 tanh MLP, Adam 20 000 iterations, lr 1e-3.
shape  square = rectangle([-0.5, -0.5], [0.5, 0.5])
shape  holes  = disk([0.3, 0.3], 0.1) ∪ disk([-0.3, 0.3], 0.1)
              ∪ disk([0.3, -0.3], 0.1) ∪ disk([-0.3, -0.3], 0.1)
domain (x, y) ∈ square − holes
field  u(x, y)

equation u_xx + u_yy = 0
boundary u = 1   on square
boundary u = 0   on holes

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 halton, boundary 2048
train   adam(lr = 1e-3, epochs = 20000)
reference "../data/poisson2d_c.mat" { x = x, y = y, u = u }
