# expect: pdenet::check::bad_init "[1, 2]" help "give one number"
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t)
equation u_t - u_xx = 0
layer shifted(h) = σ(W·h + b)
    where b: vector ~ normal(std = [1, 2])
network shifted(width = 8, depth = 2)
