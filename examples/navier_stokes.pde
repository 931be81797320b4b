# Incompressible Navier–Stokes, inverse problem: recover λ1 = 1 and λ2 = ν = 0.01 from
# velocity samples alone. ψ is the stream function, so the flow is divergence-free.
# Trained with SSBroyden (dense H, 5964 unknowns: 285 MB) where the paper used L-BFGS.
domain x ∈ [0, 2*π], y ∈ [0, 2*π], t ∈ [0, 2]
field  ψ(x, y, t), p(x, y, t)
param  λ1 = 0 exact 1, λ2 = 0 exact 0.01

let u = ψ_y, v = -ψ_x
equation u_t + λ1*(u*u_x + v*u_y) = -p_x + λ2*lap(u)
equation v_t + λ1*(u*v_x + v*v_y) = -p_y + λ2*lap(v)

data "ns_periodic.mat" { x = x, y = y, t = t, u = u[y, x, t], v = v[y, x, t] } sample 5000

network qres(width = 20, depth = 8, activation = tanh)
train   adam(lr = 1e-3, epochs = 2000) then ssbroyden(iterations = 50000)
reference "ns_periodic.mat" { x = x, y = y, t = t, u = u[y, x, t], v = v[y, x, t], p = p[y, x, t] }
