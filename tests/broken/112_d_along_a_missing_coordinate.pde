# expect: pdenet::check::field_coordinates "d(a, t)"
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t), a(x)
equation u_t = d(a*u_x, x) + d(a, t)
initial  u = sin(π*x) on t = 0
boundary u = 0 on x = 0, x = 1
network mlp(width = 10, depth = 2, activation = tanh)
