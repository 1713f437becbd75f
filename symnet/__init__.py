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

# The network and its activations.
from .activations import Activation, activation, known_activations, register_activation
from .errors import NumericalOverflowError, SymnetError, TooLargeError
from .losses import get_loss
from .network import MLP
from .evaluate import loss_value
from . import symbols

# Exact derivations (issue: core engine).
from .backprop import gradient, input_jacobian, layer_form, param_jacobian
from .derivation import Derivation
from .hessian import hessian

# Numerical cross-check.
from .check import CheckFailed, CheckReport, check

# Reading and verifying derivations.
from .document import latex_document
from .verify import ParseError, Verification, parse_formula, verify

# Curvature and training.
from .curvature import GaussNewtonWarning, curvature_report, hessian_residual, hessian_split
from .hvp import hessian_vector_product
from .input_hessian import input_hessian
from .train import TrainingDiverged, curve_problem, fit
from . import interop, optimizers

# Input sensitivity: the input Jacobian as a heatmap, a ranking and a trend.
from .sensitivity import (Sensitivity, SensitivityTrend, input_sensitivity, plot_sensitivity,
                          plot_trend, sensitivity_trend)

# Lessons support (ipywidgets and matplotlib are imported only when used).
from . import examples, plots, views, widgets

__all__ = [
    "MLP", "Activation", "activation", "known_activations", "register_activation",
    "input_jacobian", "gradient", "param_jacobian", "hessian", "layer_form", "loss_value",
    "Derivation", "SymnetError", "TooLargeError", "NumericalOverflowError", "get_loss", "symbols",
    "check", "CheckReport", "CheckFailed",
    "latex_document", "verify", "Verification", "parse_formula", "ParseError",
    "hessian_split", "hessian_residual", "curvature_report", "GaussNewtonWarning",
    "hessian_vector_product", "input_hessian", "fit", "TrainingDiverged", "curve_problem",
    "interop", "optimizers",
    "input_sensitivity", "sensitivity_trend", "plot_sensitivity", "plot_trend", "Sensitivity",
    "SensitivityTrend",
    "examples", "plots", "views", "widgets",
]

__version__ = "0.1.0"
