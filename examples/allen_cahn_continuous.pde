# Allen–Cahn in continuous time (the PirateNets / jaxpi benchmark): u(0, x) = x² cos πx
# sharpens into interfaces, which the first PINNs could not train. A tanh MLP, Adam,
# then the self-scaled Broyden method with residual-based resampling.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)

equation u_t - 0.0001*u_xx + 5*u^3 - 5*u = 0
initial  u = x^2*cos(π*x)    on t = 0
periodic x

network mlp(width = 32, depth = 4, activation = tanh)
sample  collocation 8000 latin rad(every = 500), initial 512, periodic 256
train   adam(lr = 1e-3, epochs = 2000) then ssbroyden(iterations = 40000)
reference "AC.mat" { x = x, t = tt, u = uu[x, t] }
