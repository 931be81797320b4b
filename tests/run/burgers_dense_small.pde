# tests/run/burgers_small.pde with a dense quasi-Newton phase after a short Adam:
# the GPU run test keeps its H on the device.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π
equation u_t + u*u_x - ν*u_xx = 0
initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1
network qres(width = 10, depth = 4, activation = tanh)
sample  collocation 300 latin, initial 50, boundary 50
train   adam(lr = 1e-3, epochs = 10) then ssbroyden(iterations = 20)
reference "burgers_shock.mat" { x = x, t = t, u = usol[x, t] }
