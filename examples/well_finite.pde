# Finite square well: V = 0 inside |x − ½| < ¼, 100 outside.
# Ground state of −ψ'' + Vψ = Eψ on [0, 1] with ψ(0) = ψ(1) = 0.
domain x ∈ [0, 1]
field  ψ(x) = x*(1 - x)*net(x)
param  E = 10
def    V(x) = if |x - 0.5| < 0.25 then 0 else 100

equation -ψ_xx + V(x)*ψ = E*ψ
constraint ∫ ψ^2 dx = 1 weight 1000    # heavy enough that ψ = 0 is not a minimum

network mlp(width = 20, depth = 3, activation = tanh)
sample  collocation 4096 grid, constraint 512   # V jumps between grid points: E is off by about h²
train   adam(lr = 1e-3, epochs = 5000) then lbfgs(iterations = 20000, tol = 1e-14)
