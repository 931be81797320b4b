# Not fitted to the examples: a fourth-order equation with three unknown
# coefficients, a user function, a gated layer kind with its own last layer, a
# weighted condition and a derivative boundary condition.
domain x ∈ [0, 1], t ∈ [0, 1]
field  u(x, t)
param  α = 1, β = 0.5, γ = 0.1 positive
def    transport(f) = f*f_x

equation u_t + α*transport(u) + β*u_xx + γ*u_xxxx = 0 weight 2
initial  u = sin(π*x)^2   on t = 0
boundary u = 0            on x = 0
boundary u_x = 0          on x = 1

layer gated(h) = σ(W·h + b) ⊙ sigmoid(V·h + c) + skip(h)
    last = W·h + b

network gated(width = 12, depth = 3, activation = tanh)
sample  collocation 2000 latin, initial 64, boundary 64
train   adam(lr = 1e-3, epochs = 100)
