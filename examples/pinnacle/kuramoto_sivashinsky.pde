# PINNacle's KS (Hao et al. 2024, `KuramotoSivashinskyEquation`): the Kuramoto–
# Sivashinsky equation on [0, 2π] over t ∈ [0, 1] from u = cos x (1 + sin x). PINNacle
# imposes only the initial value; its solution is 2π-periodic, and this file says so
# (value and three derivatives match). PINNacle's reference
# (ref/Kuramoto_Sivashinsky.dat) is not in ../shared/data/pinnacle: not scored.
domain x ∈ [0, 2*π], t ∈ [0, 1]
field  u(x, t)
const  α = 100/16, β = 100/16^2, γ = 100/16^4

equation u_t + α*u*u_x + β*u_xx + γ*u_xxxx = 0
initial  u = cos(x)*(1 + sin(x))   on t = 0
periodic x (u, u_x, u_xx, u_xxx)

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 halton, initial 2048, boundary 2048
train   adam(lr = 1e-3, epochs = 20000)
