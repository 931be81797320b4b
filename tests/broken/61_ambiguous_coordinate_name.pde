# expect: pdenet::check::ambiguous_coordinate "xt"
domain x ∈ [-1, 1], t ∈ [0, 1], xt ∈ [0, 1]
field  u(x, t, xt)
equation u_t + u = 0
network mlp(width = 10, depth = 2, activation = tanh)
