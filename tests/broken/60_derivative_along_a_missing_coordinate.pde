# expect: pdenet::check::field_coordinates "u_t"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x)
equation u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network qres(width = 10, depth = 8, activation = tanh)
