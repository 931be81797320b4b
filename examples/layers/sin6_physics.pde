# The same eight samples of y = sin 6x with a physics term: dy/dx = 6 cos 6x at 200
# points between them (Bu & Karpatne 2021, Fig. 1). The derivative carries the
# function where the samples do not.
domain x ∈ [-1, 1]
field  y(x)
equation  y_x = 6*cos(6*x)
data      "../data/sin6.mat" { x = x, y = y }
reference y = sin(6*x)
network qres(width = 20, depth = 3, activation = tanh)
sample  collocation 200 halton
train   adam(lr = 1e-3, epochs = 3000)
