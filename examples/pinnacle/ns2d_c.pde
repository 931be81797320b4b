# PINNacle's NS 2d-C (Hao et al. 2024, `NS2D_LidDriven`, a = 4): steady incompressible
# flow in the unit square at ν = 1/100, driven by a lid moving with u = 4x(1 − x).
# Reference: PINNacle's COMSOL solution (ref/lid_driven_a4.dat), a 101 × 101 grid
# refined at the walls; PINNacle's best method (LAAF) reaches 3.60e-2 jointly over u, v, p.
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y), v(x, y), p(x, y)
const  ν = 1/100

equation u*u_x + v*u_y + p_x - ν*(u_xx + u_yy) = 0
equation u*v_x + v*v_y + p_y - ν*(v_xx + v_yy) = 0
equation u_x + v_y = 0

boundary u = 4*x*(1 - x)   on y = 1
boundary u = 0             on x = 0, x = 1, y = 0
boundary v = 0             on x = 0, x = 1, y = 0, y = 1
boundary p = 0             at x = 0, y = 0

network mlp(width = 40, depth = 4, activation = tanh)
sample  collocation 8192 halton, boundary 2048
train   adam(lr = 1e-3, epochs = 3000) then lbfgs(iterations = 6000)
reference "../data/ns2d_c.mat" { x = x, y = y, u = u[x, y], v = v[x, y], p = p[x, y] }
