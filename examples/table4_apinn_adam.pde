# Table 4 of Bu & Karpatne 2021 (QRes), Burgers forward: APINN (adaptive activation), trained with
# Adam alone, lr 8e-4, 7000 epochs, as the paper's. `python3 scripts/reproduce.py table4` runs every row.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network apinn(width = 20, depth = 8, activation = tanh)
sample  collocation 10000 latin, initial 50, boundary 50
train   adam(lr = 8e-4, epochs = 7000)
reference "burgers_shock.mat" { x = x, t = t, u = usol[x, t] }
