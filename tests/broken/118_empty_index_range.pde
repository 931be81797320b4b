# expect: pdenet::check::bad_index "Σ(k = 3 to 1, C[k]·h)"
domain x ∈ [0, 1]
field  u(x)
equation u_xx = 0
layer fam(h) = b + Σ(k = 3 to 1, C[k]·h)
network fam(width = 4, depth = 2)
