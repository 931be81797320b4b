# expect: pdenet::check::layer_only "T[1]"
domain x ∈ [0, 1]
field  u(x)
equation u_xx + T[1] = 0
