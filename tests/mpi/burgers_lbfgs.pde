# Burgers for the MPI tests (tests/mpi.rs): the paper's Adam then L-BFGS, with RAD
# redraws, on an odd number of points so that ranks' shares end in a block tail.
domain x ∈ [-1, 1], t ∈ [0, 1]
field  u(x, t)
const  ν = 0.01/π

equation u_t + u*u_x - ν*u_xx = 0

initial  u = -sin(π*x)      on t = 0
boundary u = 0              on x = -1, x = 1

network qres(width = 10, depth = 4, activation = tanh)
sample  collocation 3001 latin rad(every = 40), initial 51, boundary 49
train   adam(lr = 1e-3, epochs = 100) then lbfgs(iterations = 100)
reference "burgers_shock.mat" { x = x, t = t, u = usol[x, t] }
