# Elementary functions beyond the primitives, written with them (the hyperbolic ones
# PDE sources use; sech is with the activations).
def sinh(z)  = (exp(z) - exp(-z))/2
def cosh(z)  = (exp(z) + exp(-z))/2
def coth(z)  = 1/tanh(z)
def tan(z)   = sin(z)/cos(z)
def asinh(z) = log(z + sqrt(z^2 + 1))
