# expect: pdenet::check::tensor_shape "c"
domain x ∈ [0, 1]
field  u(x)
equation u_xx = 0
layer edge(h) = edges(s*tanh(w*h + c))
    where c: vector
network edge(width = 4, depth = 2)
