# expect: pdenet::check::field_at_point "net(x, t)"
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t), a(x) = 1 + x*net(x, t)
equation u_t = d(a*u_x, x)
initial  u = sin(π*x) on t = 0
boundary u = 0 on x = 0, x = 1
network mlp(width = 10, depth = 2, activation = tanh)
