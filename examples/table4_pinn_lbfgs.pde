# Table 4 of Bu & Karpatne 2021 (QRes), Burgers forward: PINN, trained with
# L-BFGS alone (the paper's ran to 50 000 iterations; 10 000 here, to fit 30 minutes). `python3 scripts/reproduce.py table4` runs every row.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network mlp(width = 20, depth = 8, activation = tanh)
sample  collocation 10000 latin, initial 50, boundary 50
train   lbfgs(iterations = 10000, tol = 1e-12)
reference "burgers_shock.mat" { x = x, t = t, u = usol[x, t] }
