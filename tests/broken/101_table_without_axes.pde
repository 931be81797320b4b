# expect: pdenet::check::data_axes "a = usol"
domain x ∈ [-1, 1], t ∈ [0, 0.99]
field  u(x, t)
table "burgers_shock.mat" { x = x, t = t, a = usol }
equation u_t - a*u_xx = 0
network mlp(width = 10, depth = 2, activation = tanh)
