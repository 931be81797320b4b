# PINNacle's Poisson 3d-CG (Hao et al. 2024, `Poisson3D_ComplexGeometry`): a screened
# Poisson equation in the unit cube without four balls, its screening k² jumping from
# 64 to 100 across z = 0.5, insulated (∂n u = 0) everywhere. PINNacle's reference
# (ref/poisson_3d.dat) is not in ../shared/data/pinnacle, so this is not scored.
shape  cube  = box([0, 0, 0], [1, 1, 1])
shape  balls = ball([0.4, 0.3, 0.6], 0.2) ∪ ball([0.6, 0.7, 0.6], 0.2)
             ∪ ball([0.2, 0.8, 0.7], 0.1) ∪ ball([0.6, 0.2, 0.3], 0.1)
domain (x, y, z) ∈ cube − balls
field  u(x, y, z)
let    r2 = x^2 + y^2 + z^2
let    f = 20*exp(sin(π*x) + sin(10*π*y) + sin(5*π*z))*(r2 - 1)/(r2 + 1)
           + 100*sin(π*x)*sin(10*π*y)*sin(5*π*z)
def    k2(z) = if z < 0.5 then 64 else 100

equation -(u_xx + u_yy + u_zz) + k2(z)*u = f
boundary ∂n(u) = 0   on cube
boundary ∂n(u) = 0   on balls

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 halton, boundary 2048
train   adam(lr = 1e-3, epochs = 20000)
