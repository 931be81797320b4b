# Burgers' equation, inverse problem: recover λ1 = 1 and λ2 = 0.01/π from 2000 clean
# samples; the residual is evaluated at the same points.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
param  λ1 = 0 exact 1, λ2 = exp(-6) positive exact 0.01/π   # positive: trained as its logarithm

equation u_t + λ1*u*u_x - λ2*u_xx = 0

data "burgers_shock.mat" { x = x, t = t, u = usol[x, t] } sample 2000

network qres(width = 14, depth = 8, activation = tanh)
train   adam(lr = 1e-3, epochs = 2000) then lbfgs(iterations = 50000, tol = 1e-12)
reference "burgers_shock.mat" { x = x, t = t, u = usol[x, t] }
