# expect: pdenet::check::long_coordinate "xx"
domain xx ∈ [-1, 1], t ∈ [0, 1]
field  u(xx, t)
equation u_t + u = 0
network mlp(width = 10, depth = 2, activation = tanh)
