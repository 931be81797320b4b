# expect: pdenet::check::bad_index "j"
domain x ∈ [0, 1]
field  u(x)
equation u_xx = 0
layer fam(h) = b + Σ(k = 1 to 3, C[j]·h)
network fam(width = 4, depth = 2)
