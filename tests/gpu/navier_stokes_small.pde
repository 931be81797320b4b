# examples/navier_stokes.pde at a size lavapipe compiles in seconds (width 5 × 1), so
# the GPU tests check its features in CI; `PDENET_ONLY=navier_stokes` checks the full one.
domain x ∈ [0, 2*π], y ∈ [0, 2*π], t ∈ [0, 2]
field  ψ(x, y, t), p(x, y, t)
param  λ1 = 0, λ2 = 0

let u = ψ_y, v = -ψ_x
equation u_t + λ1*(u*u_x + v*u_y) = -p_x + λ2*lap(u)
equation v_t + λ1*(u*v_x + v*v_y) = -p_y + λ2*lap(v)

data "ns_periodic.mat" { x = x, y = y, t = t, u = u[y, x, t], v = v[y, x, t] } sample 5000

network qres(width = 5, depth = 1, activation = tanh)
train   adam(lr = 1e-3, epochs = 10)
