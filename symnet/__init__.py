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

from ._deprecation import forward_names as _forward_names

# The network, its activations and its losses.
from .graph.activations import Activation, activation, known_activations, register_activation
from .errors import NumericalOverflowError, SymnetError, TooLargeError, VerifyLimitError
from .graph.losses import Loss, get_loss, register_loss
from .graph.network import MLP
# Networks of layers (convolution, residual) and the unrolled Elman RNN.
from .graph.layer_network import Network
from .graph.recurrent import RNN
from .graph import layers
from .compiled.error_value import loss_value
from .graph import symbols

# Exact derivations, one interface (Derivation) and one table of their kinds.
from .derive.first_order import gradient, input_jacobian, layer_form, param_jacobian
from .derive.derivation import Derivation, DerivationKind
from .derive.second_order import hessian

# Numerical cross-check.
from .numdiff.checker import CheckFailed, CheckReport, check

# Reading and verifying derivations.
from .render.document import latex_document
from .formulas.verification import ParseError, Verification, parse_formula, verify

# Curvature and training.
from .derive.curvature_terms import (CurvatureReport, GaussNewtonWarning, HessianSplit, curvature_report,
                        hessian_residual, hessian_split)
from .derive.r_operator import HessianVectorProduct, hessian_vector_product
from .derive.input_curvature import InputHessian, input_hessian
from .train.fitting import FitResult, TrainingDiverged, fit
from . import interop
from .train import optimizers

# Input sensitivity: the input Jacobian as a heatmap, a ranking and a trend.
from .teach.sensitivity import (Sensitivity, SensitivityTrend, input_sensitivity, plot_sensitivity,
                          plot_trend, sensitivity_trend)

# Lessons support (ipywidgets and matplotlib are imported only when used).
from .teach import examples
from .teach import plots
from .teach import views
from .teach import widgets

# Public submodules keep their short names (``import symnet.examples``), aliased to their
# homes; the other 0.1 module paths warn and forward (``symnet._moved``).
import sys as _sys

from . import _moved

for _name, _module in {"symbols": symbols, "layers": layers, "examples": examples, "plots": plots,
                       "views": views, "widgets": widgets, "optimizers": optimizers}.items():
    _sys.modules.setdefault(f"{__name__}.{_name}", _module)
_moved.install()
del _sys, _name, _module

__all__ = [
    "MLP", "Network", "RNN", "layers", "Activation", "activation", "known_activations", "register_activation",
    "input_jacobian", "gradient", "param_jacobian", "hessian", "layer_form", "loss_value",
    "Derivation", "DerivationKind", "SymnetError", "TooLargeError", "NumericalOverflowError",
    "VerifyLimitError",
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

# ``symnet.curve_problem`` (lesson data, now in ``symnet.examples``) still works, with a warning.
__getattr__ = _forward_names(__name__, "symnet.examples", names=("curve_problem",))
