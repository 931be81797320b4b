# Layer kinds. In a body, `h` is the layer input and σ the network's activation.
# A name used left of `·` is a weight matrix (Xavier init), any other free name a
# bias vector (zeros) unless `where` declares it. In the network's last layer σ is
# the identity, unless `last` gives that layer's body; `first` gives the first layer's.
# skip(h) is h where the layer's input and output widths are equal, else 0.

# Plain PINN (Raissi et al. 2019).
layer mlp(h) = σ(W·h + b)

# Quadratic residual network (Bu & Karpatne 2021).
layer qres(h) = σ((W1·h + b) ⊙ (W2·h) + W1·h + b)

# Adaptive activation (Jagtap et al. 2020): one trainable slope a per layer, n = 5.
layer apinn(h) = σ(5*a*(W·h + b))
    last  = W·h + b
    where a: scalar ~ normal(std = 1)

# Identity skip connections where the widths agree.
layer isc(h) = σ(W·h + b) + skip(h)

# Quadratic skip connections.
layer qsc(h) = (W1·h) ⊙ (W2·h) + σ(W1·h + b)
    last  = W1·h + b

# Fourier features of the inputs (Tancik et al. 2020) as the first layer, trained as
# SIREN trains its first (Sitzmann et al. 2020): sin(F·h + c) with frequencies drawn
# with standard deviation 10 (inputs are rescaled to [−1, 1]), then σ layers. For a
# solution that oscillates much faster or slower, copy it into your file with another
# std, or one std per input (`normal(std = [20, 1, 1])`) where only one coordinate
# carries the fast oscillation.
layer fourier(h) = σ(W·h + b)
    first = sin(F·h + c)
    where F: matrix ~ normal(std = 10), c: vector ~ normal(std = 1)

# Kolmogorov–Arnold layers (Liu et al. 2024): a learned function on every edge,
# out_i = Σ_j φ_ij(h_j) with φ_ij = Σ_k C[k]_ij·B_k(h_j) over a basis B_0 … B_K, so
# the layer is Σ_k C[k]·B_k(h): one matrix per basis function. The last layer is a
# KAN layer too (σ is not used).

# Chebyshev basis of tanh h, degree 4 (cPIKAN, Shukla et al. 2024); T_0 = 1 is the bias.
layer cheb_kan(h) = b + Σ(k = 1 to 4, C[k]·T[k])
    where T[0] = 1, T[1] = tanh(h), T[k] = 2*T[1]*T[k-1] - T[k-2],
          C: matrix ~ xavier(gain = 0.5)

# Fourier basis cos kh, sin kh for k = 1 … 4 (Fourier-KAN); the coefficients start
# small, the k-th scaled by 1/k, so the network starts smooth.
layer fourier_kan(h) = b + Σ(k = 1 to 4, (A[k]·cos(k*h) + B[k]·sin(k*h))/k)
    where A: matrix ~ xavier(gain = 0.35), B: matrix ~ xavier(gain = 0.35)

# Cubic B-splines on a uniform grid of G = 5 cells over [−1, 1] (knot spacing 0.4,
# inputs squashed by tanh), 8 basis functions, plus the original KAN's base term
# Wb·silu(h). A cubic spline is C²: enough for PDEs up to second order.
layer bspline_kan(h) = Wb·silu(h) + Σ(k = 0 to 7, C[k]·bspline3(2.5*(tanh(h) + 1) + 1 - k))
    where C: matrix ~ xavier(gain = 0.5)

# The same with quintic B-splines (C⁴, 10 basis functions), for fourth-order PDEs.
layer bspline5_kan(h) = Wb·silu(h) + Σ(k = 0 to 9, C[k]·bspline5(2.5*(tanh(h) + 1) + 2 - k))
    where C: matrix ~ xavier(gain = 0.5)

# Quantum-inspired KAN (QKAN; Jiang et al. 2025): on each edge one qubit starts in
# |0⟩, turns by RY(β[0]), then L = 2 times takes the input by RZ(w[k]·h + c[k]) and
# turns by RY(β[k]); the edge's value is s·⟨Z⟩ (DARUAN). Written on the Bloch vector
# (X, Y, Z), rotations in real arithmetic; the Z-rotations of a general trainable
# rotation RZ·RY·RZ fold into the biases c and do not change ⟨Z⟩ at the end. Every
# tensor here is per edge (a matrix read inside edges(…)).
layer qkan(h) = edges(s*Z[2])
    where X[0] = sin(β[0]), Y[0] = 0, Z[0] = cos(β[0]),
          P[k] = X[k-1]*cos(w[k]*h + c[k]) - Y[k-1]*sin(w[k]*h + c[k]),
          Y[k] = X[k-1]*sin(w[k]*h + c[k]) + Y[k-1]*cos(w[k]*h + c[k]),
          X[k] = P[k]*cos(β[k]) + Z[k-1]*sin(β[k]),
          Z[k] = Z[k-1]*cos(β[k]) - P[k]*sin(β[k]),
          β: matrix ~ normal(std = 1), w: matrix ~ normal(std = 1), s: matrix ~ xavier

# Residual blocks as a discretized PDE ("Analogous view between residual networks and
# partial differential equations", 2020): each hidden layer is one explicit step,
# of size 1/depth, of h_t = σ(α·h_jj + β·h_j + γ·h + b) over the hidden units seen
# as a 1-D grid with zeros past its ends.
layer pde2(h) = h + σ(α*(shift(h, -1) - 2*h + shift(h, 1)) + β*(shift(h, 1) - shift(h, -1))/2 + γ*h + b)/depth
    first = σ(W·h + b)
    last  = W·h + b
    where α: scalar ~ normal(std = 0.1), β: scalar ~ normal(std = 0.1), γ: scalar ~ normal(std = 0.1)

# The same step with a learned three-point stencil K[−1], K[0], K[1] per layer.
layer stencil3(h) = h + σ(Σ(k = -1 to 1, K[k]*shift(h, k)) + b)/depth
    first = σ(W·h + b)
    last  = W·h + b
    where K: scalar ~ normal(std = 0.3)

# Random Fourier features (Tancik et al. 2020) as the first layer: sin(F·h + c) with
# F (std 10) and c drawn once and never trained, then σ layers. `fourier` is the same
# with F and c trained.
layer rff(h) = σ(W·h + b)
    first = sin(F·h + c)
    where F: fixed matrix ~ normal(std = 10), c: fixed vector ~ normal(std = 1)
