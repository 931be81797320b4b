# expect: pdenet::check::non_finite "1/0"
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 1/0
equation u_t + u*u_x - ν*u_xx = 0
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network qres(width = 10, depth = 8, activation = tanh)
