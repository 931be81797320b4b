# Infinite square well: the ground state of −ψ'' = Eψ on [0, 1] (exact E = π²).
# The trial function vanishes at both walls; the constraint rules out ψ = 0.
domain x ∈ [0, 1]
field  ψ(x) = x*(1 - x)*net(x)
param  E = 5 exact π^2

equation -ψ_xx = E*ψ
constraint ∫ ψ^2 dx = 1 weight 100     # heavy enough that ψ = 0 is not a minimum

network mlp(width = 20, depth = 3, activation = tanh)
sample  collocation 256 grid, constraint 256
train   adam(lr = 1e-3, epochs = 5000) then lbfgs(iterations = 20000, tol = 1e-14)
