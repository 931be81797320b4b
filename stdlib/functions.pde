# Elementary functions beyond the primitives, written with them (the hyperbolic ones
# PDE sources use; sech is with the activations).
def sinh(z)  = (exp(z) - exp(-z))/2
def cosh(z)  = (exp(z) + exp(-z))/2
def coth(z)  = 1/tanh(z)
def tan(z)   = sin(z)/cos(z)
def asinh(z) = log(z + sqrt(z^2 + 1))
def relu(z)  = (z + |z|)/2
# The centred cardinal B-splines of degree 3 and 5 (support |z| < 2 and |z| < 3, C²
# and C⁴): the basis of the spline KAN layers; B(z − k) over k sum to 1.
def bspline3(z) = (relu(2 - |z|)^3 - 4*relu(1 - |z|)^3)/6
def bspline5(z) = (relu(3 - |z|)^5 - 6*relu(2 - |z|)^5 + 15*relu(1 - |z|)^5)/120
