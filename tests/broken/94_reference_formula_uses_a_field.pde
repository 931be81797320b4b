# expect: pdenet::check::reference_formula "u*x"
domain x ∈ [0, 1]
field  u(x)
equation u_xx = -1
boundary u = 0 on x = 0, x = 1
network mlp(width = 10, depth = 2, activation = tanh)
reference u = u*x
