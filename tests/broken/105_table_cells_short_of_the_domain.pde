# expect: pdenet::check::table_grid "y ∈ [0, 0.5]"
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y)
table  a = [[1, 2], [3, 4]] on x ∈ [0, 1], y ∈ [0, 0.5]
equation a*(u_xx + u_yy) = 1
network mlp(width = 10, depth = 2, activation = tanh)
