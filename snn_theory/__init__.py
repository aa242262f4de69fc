"""snn-theory: rigorous numerical verification of self-normalizing network theory.

derive (``formulas``) → evaluate (``backends``, ``moment_map``) → certify (``constants``,
``verify``, ``certificate``) → simulate (``simulate``) → show (``plots``).
"""

from snn_theory.errors import InputError, NumericalFailure
from snn_theory.moment_map import (
    Jacobians,
    Moments,
    default_constants,
    evaluate,
    fixed_point,
    iterate,
    jacobian,
    moments,
    spectral_norm,
)
from snn_theory.precision import working_precision

__version__ = "0.1.0"

__all__ = [
    "InputError", "NumericalFailure", "Jacobians", "Moments", "default_constants", "evaluate", "fixed_point",
    "iterate", "jacobian", "moments", "spectral_norm", "working_precision", "__version__",
]
