# Two fields with conditions on the same faces, as in a lid-driven cavity: each loss
# term keeps its own name, and the report's terms add up to its total.
domain x ∈ [0, 1], y ∈ [0, 1]
field  u(x, y), v(x, y)
equation u_xx + u_yy = 0
equation v_xx + v_yy = u
boundary u = 1      on y = 1
boundary v = 0      on y = 1, x = 0
boundary u = 0      on x = 0
boundary u_x = 0    on x = 1
boundary u = 0      on x = 1
network mlp(width = 8, depth = 2, activation = tanh)
sample  collocation 100 latin, boundary 60
train   adam(lr = 1e-3, epochs = 20)
