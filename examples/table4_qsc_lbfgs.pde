# Table 4 of Bu & Karpatne 2021 (QRes), Burgers forward: QSC (quadratic skip connections), the paper's L-BFGS row,
# trained here with SSBroyden in its place: L-BFGS alone ended above the paper's figure in
# 10 000 iterations (30 minutes; the paper's ran to 50 000). `python3 scripts/reproduce.py table4` runs every row.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network qsc(width = 10, depth = 8, activation = tanh)
sample  collocation 10000 latin, initial 50, boundary 50
train   ssbroyden(iterations = 10000)
reference "burgers_shock.mat" { x = x, t = t, u = usol[x, t] }
