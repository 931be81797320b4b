# Burgers' equation, forward problem (Raissi et al. 2019; QRes: Bu & Karpatne 2021).
# The paper's network, trained as examples/burgers_ssbroyden.pde is (short f32 Adam,
# then SSBroyden in f64 with RAD resampling); the paper trained Adam then L-BFGS.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network qres(width = 10, depth = 8, activation = tanh)
sample  collocation 10000 latin rad(every = 500), initial 50, boundary 50
train   adam(lr = 1e-3, epochs = 500) then ssbroyden(iterations = 20000)
reference "burgers_shock.mat" { x = x, t = t, u = usol[x, t] }
