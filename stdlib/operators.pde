# Differential operators. A suffix on a parameter differentiates the argument:
# lap(ψ_y) is ψ_yxx + ψ_yyy. Coordinates are checked where the operator is used.
def lap(f)    = f_xx + f_yy
def lap3(f)   = f_xx + f_yy + f_zz
def div2(f, g) = f_x + g_y
def bilap(f)  = f_xxxx + 2*f_xxyy + f_yyyy
