# expect: pdenet::check::table_grid "t"
# The file's t grid ends at 0.99; the domain's t runs to 1.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
table "burgers_shock.mat" { x = x, t = t, a = usol[x, t] }
equation u_t - a*u_xx = 0
network mlp(width = 10, depth = 2, activation = tanh)
