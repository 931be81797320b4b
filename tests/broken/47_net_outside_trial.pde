# expect: pdenet::check::net_outside_trial "net(x)"
domain x ∈ [0, 1]
field  ψ(x) = x*(1 - x)*net(x)
param  E = 5
equation -ψ_xx + net(x) = E*ψ
constraint ∫ ψ^2 dx = 1
network mlp(width = 20, depth = 3, activation = tanh)
