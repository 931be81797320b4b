# expect: pdenet::check::layer_width "h + σ(W·h + b)"
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t = u_xx
layer stepper(h) = h + σ(W·h + b)
network stepper(width = 5, depth = 2)
