# PINNacle's Heat 2d-CG (Hao et al. 2024, `HeatComplex`): heat flow over t ∈ [0, 3] in
# a plate [−8, 8] × [−12, 12] with 11 holes of radius 1 and 6 of radius 0.4, from
# rest; Robin conditions ∂n u = T − u draw heat from the big holes (T = 5), the small
# ones (T = 1) and the outer edge (T = 0.1). PINNacle's reference
# (ref/heat_complex.dat) is not in ../shared/data/pinnacle, so this is not scored.
shape  plate = rectangle([-8, -12], [8, 12])
shape  big   = disk([-4, -3], 1) ∪ disk([4, -3], 1) ∪ disk([-4, 3], 1) ∪ disk([4, 3], 1)
             ∪ disk([-4, -9], 1) ∪ disk([4, -9], 1) ∪ disk([-4, 9], 1) ∪ disk([4, 9], 1)
             ∪ disk([0, 0], 1) ∪ disk([0, 6], 1) ∪ disk([0, -6], 1)
shape  small = disk([-3.2, -6], 0.4) ∪ disk([-3.2, 6], 0.4) ∪ disk([3.2, -6], 0.4)
             ∪ disk([3.2, 6], 0.4) ∪ disk([-3.2, 0], 0.4) ∪ disk([3.2, 0], 0.4)
domain (x, y) ∈ plate − big − small, t ∈ [0, 3]
field  u(x, y, t)

equation u_t = u_xx + u_yy
initial  u = 0              on t = 0
boundary ∂n(u) = 5 - u      on big
boundary ∂n(u) = 1 - u      on small
boundary ∂n(u) = 0.1 - u    on plate

network mlp(width = 100, depth = 5, activation = tanh)
sample  collocation 8192 halton, initial 2048, boundary 2048
train   adam(lr = 1e-3, epochs = 20000)
