# The stdlib's `fourier` network: a first layer of trained Fourier features,
# sin(F·h + c), before tanh layers. The engines are compared on it, and gradcheck
# checks its jets (second order) and gradient.
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y)
equation u_xx + u_yy = -2*π^2*sin(π*x)*sin(π*y)
boundary u = 0     on x = 0, x = 1, y = 0, y = 1
network fourier(width = 6, depth = 2, activation = tanh)
sample  collocation 100 halton, boundary 40
train   adam(lr = 1e-3, epochs = 10)
