# Not fitted to the examples: a coefficient that jumps (a comparison in the kernel),
# a rational term whose derivatives have negative powers, a square root and an
# absolute value of varying values, so every element-wise op is in a residual.
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t)
def    k(x) = if x < 0.5 then 1 else 2
equation u_t - k(x)*u_xx + u_x/(1 + u^2)^2 + sqrt(1 + u_x^2) - abs(u)*x^-1 = 0
initial  u = sin(π*x)   on t = 0
boundary u = 0          on x = 0
network mlp(width = 8, depth = 2, activation = tanh)
sample  collocation 300 latin, initial 32, boundary 32
train   adam(lr = 1e-3, epochs = 10)
