# expect: pdenet::check::layer_width "σ(W·h + b) + shift(a, 1)"
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t = 0.1*u_xx
layer s1(h) = σ(W·h + b) + shift(a, 1)
    where a: scalar
network s1(width = 4, depth = 2)
