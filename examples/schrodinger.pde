# Nonlinear Schrödinger, forward problem (Raissi et al. 2019). The compiler splits
# the complex field h = u + i v and the equation into real and imaginary parts.
domain x ∈ [-5, 5], t ∈ [0, π/2]
field  h(x, t): complex(u, v)

equation i*h_t + 0.5*h_xx + |h|^2*h = 0

initial  h = 2*sech(x)      on t = 0
periodic x

network qres(width = 50, depth = 4, activation = tanh)
sample  collocation 20000 latin, initial 50, periodic 50
train   adam(lr = 1e-3, epochs = 5000) then lbfgs(iterations = 50000, tol = 1e-12)
reference "NLS.mat" { x = x, t = tt, h = uu[x, t] }
