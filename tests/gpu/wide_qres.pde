# Burgers with a qres wide and deep enough that its pass-1 shader, written with one
# loop iteration per entry, runs about 83 000 loop iterations per point: past the
# 65 535 that llvmpipe (lavapipe) allows a shader before it leaves every loop. The
# emitter unrolls its loops until the count fits (see `LOOP_BUDGET` in wgsl.rs).
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π
equation u_t + u*u_x - ν*u_xx = 0
initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1
network qres(width = 64, depth = 2, activation = tanh)
sample  collocation 300 latin, initial 50, boundary 50
train   adam(lr = 1e-3, epochs = 10)
