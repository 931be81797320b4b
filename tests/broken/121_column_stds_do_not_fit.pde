# expect: pdenet::check::bad_init "[20, 1]" help "one std per input of the layer (3 here)"
domain x ∈ [0, 1], y ∈ [0, 1], t ∈ [0, 1]
field  u(x, y, t)
equation u_t - u_xx - u_yy = 0
layer xfourier(h) = σ(W·h + b)
    first = sin(F·h + c)
    where F: matrix ~ normal(std = [20, 1]), c: vector ~ normal(std = 1)
network xfourier(width = 8, depth = 2)
