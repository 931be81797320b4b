# PINNacle's PInv (Hao et al. 2024, `PoissonInv`): recover the coefficient a(x, y) of
# ∇·(a∇u) + f = 0 on the unit square from u observed on a 50 × 50 grid with noise of
# standard deviation 0.1, and a on the edges. PINNacle's f has (2x + 1) and (2y + 1)
# where its own exact solution (the reference) needs (2x − 1) and (2y − 1): ∂x of
# 1 + x² + y² + (x − 1)² + (y − 1)² is 2(2x − 1). This file uses the consistent form.
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y), a(x, y)
let    A = 1/(1 + x^2 + y^2 + (x - 1)^2 + (y - 1)^2)
let    U = sin(π*x)*sin(π*y)

equation d(a*u_x, x) + d(a*u_y, y) + 2*π^2*U*A
         + 2*π*((2*x - 1)*cos(π*x)*sin(π*y) + (2*y - 1)*sin(π*x)*cos(π*y))*A^2 = 0
boundary a = A   on x = 0, x = 1, y = 0, y = 1
data "../data/pinv_u.mat" { x = x, y = y, u = u[x, y] } noise 0.1

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 8192 halton, boundary 2048
train   adam(lr = 1e-3, epochs = 3000) then lbfgs(iterations = 6000)
reference u = U, a = A
