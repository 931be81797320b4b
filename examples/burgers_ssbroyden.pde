# Burgers' equation, forward problem, trained as the best published PINN results are:
# a small tanh MLP (4×20, 1341 parameters), a short Adam warm-up (f32), then the
# self-scaled Broyden method in f64 with a dense inverse Hessian and residual-based
# resampling of the collocation points (Urbán, Stefanou & Pons 2024;
# Kiyani et al. 2025).
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network mlp(width = 20, depth = 4, activation = tanh)
sample  collocation 10000 latin rad(every = 500), initial 200, boundary 200
train   adam(lr = 1e-3, epochs = 500) then ssbroyden(iterations = 25000)
reference "burgers_shock.mat" { x = x, t = t, u = usol[x, t] }
