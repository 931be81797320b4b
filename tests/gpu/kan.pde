# A Kolmogorov–Arnold layer written in this file, not in the stdlib, with each
# construct the stdlib's KAN and PDE layers are built from: a family of matrices
# summed over a static index (a Chebyshev basis by recurrence), a per-edge term with
# per-edge tensors (`edges`), and shifts with zero and periodic ends; C[0]·T[0] is a
# matrix times the constant 1 (its row sums). The engines are
# compared on it, gradcheck checks its jets and gradient, and a short run trains it.
domain x ∈ [0, 1], t ∈ [0, 0.5]
field  u(x, t)
equation u_t + u*u_x - 0.05*u_xx = 0
initial  u = sin(π*x)   on t = 0
boundary u = 0          on x = 0, x = 1

layer kan(h) = Σ(k = 0 to 3, C[k]·T[k]) + edges(s*sin(w*h + c))
             + a*(shift(T[1], 1) - roll(T[1], -1))
    first = tanh(W·h + b)
    last  = b + Σ(k = 1 to 3, C[k]·T[k])
    where T[0] = 1, T[1] = tanh(h), T[k] = 2*T[1]*T[k-1] - T[k-2],
          C: matrix ~ xavier(gain = 0.5), s: matrix ~ xavier, w: matrix ~ normal(std = 1),
          a: scalar ~ normal(std = 0.5)
network kan(width = 5, depth = 2)
sample  collocation 200 halton, initial 50, boundary 50
train   adam(lr = 1e-2, epochs = 300)
