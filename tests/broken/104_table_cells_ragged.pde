# expect: pdenet::check::table_shape "[3]"
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y)
table  a = [[1, 2], [3]] on x ∈ [0, 1], y ∈ [0, 1]
equation a*(u_xx + u_yy) = 1
network mlp(width = 10, depth = 2, activation = tanh)
