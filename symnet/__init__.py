"""symnet: exact derivatives of neural networks, derived symbolically, checked numerically.

Networks are SymPy expression graphs in Bishop's notation (a_j^(l), z_j^(l),
delta_j^(l)); symnet derives their Jacobians, error gradient, parameter Jacobian
and Hessian exactly, and evaluates them fast on batches with NumPy.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([3, 4, 2], hidden="tanh", output="linear")
>>> net.n_params
26
>>> symnet.param_jacobian(net).shape
(2, 26)
"""

from . import symbols
from .activations import Activation, activation, known_activations, register_activation
from .backprop import gradient, input_jacobian, layer_form, param_jacobian
from .derivation import Derivation
from .errors import SymnetError, TooLargeError
from .hessian import hessian
from .losses import get_loss
from .network import MLP
from .evaluate import loss_value

__all__ = [
    "MLP", "Activation", "activation", "known_activations", "register_activation",
    "input_jacobian", "gradient", "param_jacobian", "hessian", "layer_form", "loss_value",
    "Derivation", "SymnetError", "TooLargeError", "get_loss", "symbols",
]

__version__ = "0.1.0"
