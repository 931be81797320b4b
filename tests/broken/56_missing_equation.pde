# expect: pdenet::check::no_equation ""
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
initial  u = -sin(π*x) on t = 0
boundary u = 0 on x = -1, x = 1
network qres(width = 10, depth = 8, activation = tanh)
