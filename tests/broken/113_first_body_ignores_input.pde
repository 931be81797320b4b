# expect: pdenet::check::layer_ignores_input "sin(c)"
domain x ∈ [0, 1]
field  u(x)
equation u_xx = 0
boundary u = x on x = 0, x = 1
layer wave(h) = σ(W·h + b)
    first = sin(c)
network wave(width = 4, depth = 2, activation = tanh)
