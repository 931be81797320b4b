# Activations beyond the primitives (sin, cos, exp, log, tanh, sqrt, abs).
# Any of these, or any `def` of one argument, can be a network's `activation`.
def sigmoid(z)  = 1/(1 + exp(-z))
def softplus(z) = log(1 + exp(z))
def swish(z)    = z*sigmoid(z)
def silu(z)     = z*sigmoid(z)
def sech(z)     = 2/(exp(z) + exp(-z))
def gelu_tanh(z) = 0.5*z*(1 + tanh(0.7978845608028654*(z + 0.044715*z^3)))
