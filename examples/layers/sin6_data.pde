# The QRes paper's first toy (Bu & Karpatne 2021, Fig. 1): fit y = sin 6x from eight
# samples on [−1, 1], by the data alone. There is no equation: this is regression, and
# between the samples the network is free (compare sin6_physics.pde).
domain x ∈ [-1, 1]
field  y(x)
data      "../data/sin6.mat" { x = x, y = y }
reference y = sin(6*x)
network qres(width = 20, depth = 3, activation = tanh)
train   adam(lr = 1e-3, epochs = 3000)
