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
# std.
layer fourier(h) = σ(W·h + b)
    first = sin(F·h + c)
    where F: matrix ~ normal(std = 10), c: vector ~ normal(std = 1)
