# expect: pdenet::check::cyclic_let "a"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
let a = b + u, b = 2*a
equation a*u_t + u*u_x - 0.01*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network qres(width = 10, depth = 8, activation = tanh)
