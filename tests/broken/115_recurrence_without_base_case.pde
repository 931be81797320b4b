# expect: pdenet::check::recurrence "T[k] = 2*h*T[k-1]"
domain x ∈ [0, 1]
field  u(x)
equation u_xx = 0
layer cheb(h) = b + Σ(k = 1 to 3, C[k]·T[k])
    where T[k] = 2*h*T[k-1]
network cheb(width = 4, depth = 2)
