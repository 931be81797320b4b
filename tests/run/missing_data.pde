domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t + u*u_x = 0
network mlp(width = 8, depth = 2, activation = tanh)
reference "no_such_file.mat" { x = x, t = t, u = usol[x, t] }
