# expect: pdenet::check::complex_not_allowed "h"
domain x ∈ [-5, 5], t ∈ [0, π/2]
field  h(x, t): complex(u, v)
equation i*h_t + (if h < 1 then 0.5 else 0.4)*h_xx + |h|^2*h = 0
initial  h = 2*sech(x) on t = 0
periodic x
network qres(width = 50, depth = 4, activation = tanh)
