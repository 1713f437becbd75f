"""symnet: exact derivatives of neural networks, derived symbolically, checked numerically.

Networks are SymPy expression graphs in Bishop's notation (a_j^(l), z_j^(l),
delta_j^(l)); symnet derives their Jacobians, error gradient, parameter Jacobian
and Hessian exactly, and evaluates them fast on batches with NumPy.

Every derivation (``gradient``, ``input_jacobian``, ``param_jacobian``,
``hessian`` exact or Gauss-Newton, ``hessian_residual``,
``hessian_vector_product``, ``input_hessian``) is a ``Derivation`` with
``named``, ``definitions``, ``evaluate`` and ``latex()``, and ``check`` takes
any of them; ``DerivationKind`` is the row of the table that says what each
kind is.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([3, 4, 2], hidden="tanh", output="linear")
>>> net.n_params
26
>>> symnet.param_jacobian(net).shape
(2, 26)
"""

import warnings

# The network, its activations and its losses.
from .activations import Activation, activation, known_activations, register_activation
from .errors import NumericalOverflowError, SymnetError, TooLargeError
from .losses import Loss, get_loss, register_loss
from .network import MLP
from .evaluate import loss_value
from . import symbols

# Exact derivations, one interface (Derivation) and one table of their kinds.
from .backprop import gradient, input_jacobian, layer_form, param_jacobian
from .derivation import Derivation, DerivationKind
from .hessian import hessian

# Numerical cross-check.
from .check import CheckFailed, CheckReport, check

# Reading and verifying derivations.
from .document import latex_document
from .verify import ParseError, Verification, parse_formula, verify

# Curvature and training.
from .curvature import (CurvatureReport, GaussNewtonWarning, HessianSplit, curvature_report,
                        hessian_residual, hessian_split)
from .hvp import HessianVectorProduct, hessian_vector_product
from .input_hessian import InputHessian, input_hessian
from .train import FitResult, TrainingDiverged, fit
from . import interop, optimizers

# Input sensitivity: the input Jacobian as a heatmap, a ranking and a trend.
from .sensitivity import (Sensitivity, SensitivityTrend, input_sensitivity, plot_sensitivity,
                          plot_trend, sensitivity_trend)

# Lessons support (ipywidgets and matplotlib are imported only when used).
from . import examples, plots, views, widgets

__all__ = [
    "MLP", "Activation", "activation", "known_activations", "register_activation",
    "input_jacobian", "gradient", "param_jacobian", "hessian", "layer_form", "loss_value",
    "Derivation", "DerivationKind", "SymnetError", "TooLargeError", "NumericalOverflowError",
    "get_loss", "Loss", "register_loss", "symbols",
    "check", "CheckReport", "CheckFailed",
    "latex_document", "verify", "Verification", "parse_formula", "ParseError",
    "hessian_split", "HessianSplit", "hessian_residual", "curvature_report", "CurvatureReport",
    "GaussNewtonWarning", "hessian_vector_product", "HessianVectorProduct", "input_hessian",
    "InputHessian", "fit", "FitResult", "TrainingDiverged",
    "interop", "optimizers",
    "input_sensitivity", "sensitivity_trend", "plot_sensitivity", "plot_trend", "Sensitivity",
    "SensitivityTrend",
    "examples", "plots", "views", "widgets",
]

__version__ = "0.1.0"

# Names that moved, with where they live now: still reachable here, with a warning.
_MOVED = {"curve_problem": ("examples", "symnet.examples.curve_problem")}


def __getattr__(name):
    """``symnet.curve_problem`` (lesson data, now in ``symnet.examples``), with a warning."""
    if name in _MOVED:
        module, new_path = _MOVED[name]
        warnings.warn(f"symnet.{name} has moved to {new_path}; the old path will be removed",
                      DeprecationWarning, stacklevel=2)
        return getattr(globals()[module], name)
    raise AttributeError(f"module 'symnet' has no attribute {name!r}")
