# expect: pdenet::check::table_option "100"
domain x ∈ [-1, 1], t ∈ [0, 0.99]
field  u(x, t)
table "burgers_shock.mat" { x = x, t = t, a = usol[x, t] } sample 100
equation u_t - a*u_xx = 0
network mlp(width = 10, depth = 2, activation = tanh)
