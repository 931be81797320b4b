# expect: pdenet::check::field_coordinates "z"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, z)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network mlp(width = 10, depth = 2, activation = tanh)
