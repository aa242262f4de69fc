"""Certified variance-preserving gains of an activation, beside the values frameworks ship.

For Z ~ N(0, 1) and an activation f (:mod:`snn_theory.derive.activations`):

    γ_var = 1/√Var[f(Z)]      (Var[γ·f(Z)] = 1),
    γ_2   = 1/√E[f(Z)²]        (E[(γ·f(Z))²] = 1),

enclosed in arb from the rigorous Gaussian expectations of :mod:`snn_theory.evaluate.gaussian` at
(m, v) = (0, 1).  Framework values, as shipped (float literals, compared as their exact
binary values):

* PyTorch ``torch.nn.init.calculate_gain`` (pytorch/pytorch, ``torch/nn/init.py``):
  linear/identity 1, sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1 + slope²)) with the
  default slope 0.01, selu 3/4 (documented there as chosen empirically).  These are weight
  gains in the Kaiming sense (preserve E[f²]); the relative error is reported against γ_2.
* NFNets (google-deepmind/deepmind-research, ``nfnets/base.py``, the ``nonlinearities``
  table of "magic constants"): γ meant to make Var[γ·f(Z)] = 1; the relative error is
  reported against γ_var.  Its gelu is JAX's default *tanh approximation* of GELU, not the
  erf form used here, and its softplus and silu are jax.nn's.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
from flint import arb, ctx

from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.evaluate import gaussian_moments
from snn_theory.evaluate.model import ModelSpec, resolve
from snn_theory.precision import working_precision

#: Largest ``digits`` of :func:`certified_gains`.
MAX_DIGITS = 1000

#: name → (value, formula as shipped) for ``torch.nn.init.calculate_gain``.
PYTORCH: dict[str, tuple[float, str]] = {
    "tanh": (5.0 / 3, "5/3"),
    "relu": (2.0**0.5, "sqrt(2)"),
    "leaky_relu": ((2.0 / (1 + 0.01**2)) ** 0.5, "sqrt(2/(1 + 0.01^2))"),
    "selu": (3.0 / 4, "3/4"),
}
#: name → γ in the NFNets table (float literals as in the source).
NFNETS: dict[str, float] = {
    "elu": 1.2716004848480225,
    "gelu": 1.7015043497085571,  # of the tanh approximation of GELU (jax.nn.gelu default)
    "leaky_relu": 1.70590341091156,
    "relu": 1.7139588594436646,
    "selu": 1.0008515119552612,
    "silu": 1.7881293296813965,
    "softplus": 1.9203323125839233,
    "tanh": 1.5939117670059204,
}


@dataclass(frozen=True)
class FrameworkGain:
    """A shipped gain, the certified gain it is compared with, and the relative error."""

    framework: str
    value: float
    formula: str
    compared_with: str  # "variance" or "second_moment"
    relative_error: arb  # (value − γ)/γ, enclosed
    note: str = ""


@dataclass(frozen=True)
class GainResult:
    activation: Activation
    mean: arb  # E[f(Z)]
    second_moment: arb  # E[f(Z)²]
    variance_gain: arb  # γ_var
    second_moment_gain: arb  # γ_2
    frameworks: tuple[FrameworkGain, ...]
    bits: int = 53  # the working precision of the enclosures

    def __repr__(self) -> str:
        digits = mpmath.libmp.prec_to_dps(self.bits)
        return (f"GainResult({self.activation.label()}, {self.bits} bits: variance_gain="
                f"{self.variance_gain.str(digits, radius=True)}, second_moment_gain="
                f"{self.second_moment_gain.str(digits, radius=True)})")


def certified_gains(act: ModelSpec, *, digits: int | None = None) -> GainResult:
    """γ_var and γ_2 of ``act`` (a name, an expression in x, an Activation or a moment model)
    as arb enclosures at ``digits`` decimal digits (default: the current precision), with
    the framework values for built-in activations (unscaled) and their relative errors.

    >>> r = certified_gains("relu", digits=20)
    >>> r.variance_gain.str(15, radius=False)   # √(1/Var[relu(Z)]) = √(2π/(π − 1))
    '1.71285855044966'

    Raises :class:`ArithmeticError` if an enclosure is not finite or the variance is not
    proven positive."""
    act = resolve(act).activation
    if digits is None:
        return _gains(act)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= MAX_DIGITS:
        raise InputError(f"digits must be an integer in 1..{MAX_DIGITS} (got {digits!r})")
    with working_precision(digits=digits):
        return _gains(act)


def _gains(act: Activation) -> GainResult:
    partials = gaussian_moments.moment_partials(act, arb(0), arb(1), order=0)
    mean, second = partials.A[0], partials.B[0]
    variance = second - mean * mean
    if not variance > 0 or not second > 0:
        raise ArithmeticError("Var[f(Z)] could not be proven positive")
    gv = 1 / variance.sqrt()
    g2 = 1 / second.sqrt()
    frameworks: list[FrameworkGain] = []
    if act.scale == 1 and act.shift == 0 and act.definition == act.name:
        if act.name in PYTORCH:
            value, formula = PYTORCH[act.name]
            note = "chosen empirically (PyTorch documentation)" if act.name == "selu" else ""
            frameworks.append(FrameworkGain("pytorch calculate_gain", value, formula,
                                            "second_moment", (arb(value) - g2) / g2, note))
        if act.name in NFNETS:
            value = NFNETS[act.name]
            note = "tanh approximation of GELU in NFNets" if act.name == "gelu" else ""
            frameworks.append(FrameworkGain("nfnets gamma", value, repr(value), "variance",
                                            (arb(value) - gv) / gv, note))
    return GainResult(act, mean, second, gv, g2, tuple(frameworks), ctx.prec)
