"""The map g of a moment model at one point, with its precision policy, and the public API.

:func:`map_point` is the library half of ``snn-theory map``: it validates the request, chooses
the working precision (for closed forms in mpmath: raised until arb balls vouch for every
printed digit), evaluates through the model (:mod:`snn_theory.evaluate.model`) and compares
float results with an arb-checked reference.  :func:`evaluate_map`, :func:`moments`,
:func:`jacobian`, :func:`spectral_norm`, :func:`iterate` and :func:`fixed_point` are the
keyword-only functions ``snn_theory`` exports: each takes the activation by name, expression
or model and the precision as ``digits``, and returns a typed result whose repr shows the
digits computed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
from flint import arb

from snn_theory.errors import InputError, PrecisionExhausted
from snn_theory.evaluate import moment_map
from snn_theory.evaluate.activation_map import FixedPoint
from snn_theory.evaluate.model import (
    MAP_QUANTITIES,
    ClosedFormModel,
    ModelSpec,
    MomentModel,
    resolve,
)
from snn_theory.precision import digits_to_bits, working_precision

Number = Any


#: Largest accepted number of digits of :func:`map_point`.
MAX_DIGITS = 10_000
#: Largest accepted trajectory length of :func:`map_point`.
MAX_ITERATIONS = 100_000
#: Float results are flagged above this relative error (the well-conditioned accuracy of
#: the float64 backends is 1e-12, see :mod:`snn_theory.evaluate.backends`).
FLOAT_TOLERANCE = 1e-12


@dataclass(frozen=True, repr=False)
class MapPoint:
    """The map g of a model at one point, as :func:`map_point` computed it.

    ``values``: the :data:`MAP_QUANTITIES` in ``backend`` (arb balls contain the exact value;
    mpmath point values carry ``digits`` correct digits for closed forms, and are the
    midpoints of arb enclosures otherwise); ``trajectory``: (μ_k, ν_k), k = 0..steps;
    ``bits``: the working precision used; ``unresolved``: quantities whose ball at that
    precision still contains 0 (closed forms in mpmath only); ``ill_conditioned``: relative
    errors above :data:`FLOAT_TOLERANCE` of float results against an arb-checked reference.
    """

    model: MomentModel
    backend: str
    digits: int
    bits: int
    values: dict[str, Number]
    trajectory: tuple[tuple[Number, Number], ...] = ()
    unresolved: tuple[str, ...] | None = None
    ill_conditioned: dict[str, float] | None = None

    @property
    def precision_raised(self) -> bool:
        """Whether cancellation made the working precision exceed ``digits`` + guard bits."""
        return self.bits > digits_to_bits(self.digits)

    @property
    def activation_record(self) -> dict[str, Any] | None:
        """The activation's definition as results record it (None for SELU's closed forms,
        which results name by λ, α)."""
        return None if self.model.closed_form else self.model.activation.to_json()

    @property
    def display_digits(self) -> int:
        """The digits to print: ``digits``, or all an arb ball determines at ``bits``."""
        return max(self.digits, mpmath.libmp.prec_to_dps(self.bits))

    def __getitem__(self, name: str) -> Number:
        return self.values[name]

    def __getattr__(self, name: str) -> Number:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        digits = self.digits if self.backend == "mpmath" else self.display_digits
        shown = ", ".join(f"{k}={_text(v, digits)}" for k, v in self.values.items())
        return (f"MapPoint({self.model.label}, {self.backend}, {self.digits} digits, "
                f"{self.bits} bits: {shown})")


def _text(value: Any, digits: int) -> str:
    if isinstance(value, arb):
        return value.str(digits, radius=True)
    if isinstance(value, mpmath.mpf):
        return mpmath.nstr(value, digits)
    return repr(float(value))


def map_point(model: ModelSpec, *, mu: Any, nu: Any, omega: Any = "0", tau: Any = "1",
              lam: Any = None, alpha: Any = None, steps: int | None = None,
              backend: str = "mpmath", digits: int = 30,
              quantities: Sequence[str] = MAP_QUANTITIES) -> MapPoint:
    """g, H and S(H) of ``model`` at (μ, ω, ν, τ), and optionally ``steps`` iterates of g.

    The precision policy of the point evaluation: for closed forms in mpmath the working
    precision is raised until arb balls at the same precision determine all ``digits``
    (:class:`PrecisionExhausted` after 8 doublings); arb and the Gaussian model work at
    ``digits`` (+ guard bits); numpy and JAX (float64, JAX inside ``jax.enable_x64``) are
    compared with a 17-digit arb-checked reference (``ill_conditioned``).  Numbers are read
    exactly (decimal strings recommended); ``lam``, ``alpha``: SELU's λ, α (closed forms
    only).  Raises :class:`InputError` for bad input, including a trajectory that leaves
    ν > 0.
    """
    model = resolve(model)
    if not 1 <= int(digits) <= MAX_DIGITS:
        raise InputError(f"--digits must be between 1 and {MAX_DIGITS} (got {digits})")
    if steps is not None and not 0 <= int(steps) <= MAX_ITERATIONS:
        raise InputError(f"--iterate must be between 0 and {MAX_ITERATIONS} (got {steps})")
    if lam is not None or alpha is not None:
        if not isinstance(model, ClosedFormModel):
            raise InputError("--lam/--alpha are SELU parameters; with --activation use "
                             "--scale/--shift")
        model = ClosedFormModel(model.activation, lam, alpha)
    model.check_backend(backend)
    unresolved: tuple[str, ...] | None = None
    bits = digits_to_bits(digits)
    if isinstance(model, ClosedFormModel) and backend == "mpmath":
        try:
            checked = model.evaluate_digits(mu, omega, nu, tau, digits=digits,
                                            quantities=quantities)
        except ArithmeticError as exc:
            raise PrecisionExhausted(str(exc)) from None
        bits, unresolved = checked.bits, checked.unresolved
    with working_precision(bits=bits):
        if backend == "jax":
            import jax

            # float64 for this evaluation only (in-process callers keep their setting)
            with jax.enable_x64(True):
                values, trajectory = _values_and_trajectory(model, mu, omega, nu, tau,
                                                            steps, backend, quantities)
        else:
            values, trajectory = _values_and_trajectory(model, mu, omega, nu, tau, steps,
                                                        backend, quantities)
    flagged = None
    if backend in ("numpy", "jax") and isinstance(model, ClosedFormModel):
        flagged = float_errors(model, values, mu, omega, nu, tau)
    return MapPoint(model, backend, int(digits), bits, values, tuple(trajectory), unresolved,
                    flagged)


def _values_and_trajectory(model: MomentModel, mu: Any, omega: Any, nu: Any, tau: Any,
                           steps: int | None, backend: str, quantities: Sequence[str]
                           ) -> tuple[dict[str, Any], list[tuple[Any, Any]]]:
    try:
        values = model.evaluate(mu, omega, nu, tau, quantities=tuple(quantities),
                                backend=backend)
    except ArithmeticError as exc:
        if model.closed_form:
            raise
        raise InputError(f"the Gaussian integrals failed: {exc}") from None
    trajectory: list[tuple[Any, Any]] = []
    if steps is None:
        return values, trajectory
    try:
        trajectory = model.iterate(mu, omega, nu, tau, steps=steps, backend=backend)
    except (ArithmeticError, ValueError) as exc:  # InputError is a ValueError
        if not model.closed_form and not isinstance(exc, InputError):
            raise InputError(f"the Gaussian integrals failed: {exc}") from None
        prefix = "--iterate: the trajectory left the domain: " if model.closed_form else ""
        raise InputError(f"{prefix}{exc}") from None
    if backend == "jax":  # moment_map does not check (traced) JAX values
        for k, (_, v) in enumerate(trajectory):
            if not float(v) > 0 or not math.isfinite(float(v)):
                raise InputError(f"--iterate: the trajectory left the domain: "
                                 f"nu_{k} = {float(v)!r} is not > 0")
    return values, trajectory


def float_errors(model: ClosedFormModel, values: dict[str, Any], mu: Any, omega: Any, nu: Any,
                 tau: Any) -> dict[str, float]:
    """Relative errors above :data:`FLOAT_TOLERANCE` of float results, measured against
    17-digit mpmath values checked by arb; an error of 1 means the float result has no
    correct digit (e.g. 0 for a nonzero value, or the wrong sign)."""
    try:
        reference = model.evaluate_digits(mu, omega, nu, tau, digits=17,
                                          quantities=tuple(values)).values
    except ArithmeticError:
        return {name: math.inf for name in values}
    flagged = {}
    for name, value in values.items():
        exact = reference[name]
        x = float(value)
        if exact == 0:
            error = 0.0 if x == 0 else math.inf
        elif not math.isfinite(x):
            error = math.inf
        else:
            error = min(float(abs((mpmath.mpf(x) - exact) / exact)), 1.0)
        if error > FLOAT_TOLERANCE:
            flagged[name] = error
    return flagged


# ----------------------------------------------------------------------------- the public API
def evaluate_map(*, mu: Any, nu: Any, omega: Any = "0", tau: Any = "1",
                 activation: ModelSpec = "selu", lam: Any = None, alpha: Any = None,
                 quantities: Sequence[str] = MAP_QUANTITIES, backend: str = "mpmath",
                 digits: int = 30) -> MapPoint:
    """The ``quantities`` of g for ``activation`` at (μ, ω, ν, τ) (keyword arguments only:
    μ, ν are the input mean and variance, ω, τ the weight sum and sum of squares), with
    ``digits`` correct digits in mpmath (closed forms), arb balls at ``digits``, or float64
    (:func:`map_point`, which documents the precision policy).

    >>> from snn_theory import evaluate_map
    >>> evaluate_map(mu="0.1", nu="1", omega="0.5", quantities=("variance",), digits=20)
    MapPoint(SELU, mpmath, 20 digits, 87 bits: variance=1.0146776051660234175)
    """
    return map_point(activation, mu=mu, nu=nu, omega=omega, tau=tau, lam=lam, alpha=alpha,
                     backend=backend, digits=digits, quantities=quantities)


def moments(*, mu: Any, nu: Any, omega: Any = "0", tau: Any = "1",
            activation: ModelSpec = "selu", lam: Any = None, alpha: Any = None,
            backend: str = "mpmath", digits: int = 30) -> MapPoint:
    """(μ̃, ξ̃, ν̃): mean, second moment and variance after one layer of ``activation``
    (``.mean``, ``.second_moment``, ``.variance``); as :func:`evaluate_map`."""
    return evaluate_map(mu=mu, nu=nu, omega=omega, tau=tau, activation=activation, lam=lam,
                        alpha=alpha, quantities=("mean", "second_moment", "variance"),
                        backend=backend, digits=digits)


def jacobian(*, mu: Any, nu: Any, omega: Any = "0", tau: Any = "1",
             activation: ModelSpec = "selu", lam: Any = None, alpha: Any = None,
             backend: str = "mpmath", digits: int = 30) -> MapPoint:
    """H = ∂(μ̃, ν̃)/∂(μ, ν) and J = ∂(μ̃, ξ̃)/∂(μ, ν) (``.H11`` … ``.J22``) and S(H)
    (``.spectral_norm``); as :func:`evaluate_map`."""
    names = ("H11", "H12", "H21", "H22", "J11", "J12", "J21", "J22", "spectral_norm")
    return evaluate_map(mu=mu, nu=nu, omega=omega, tau=tau, activation=activation, lam=lam,
                        alpha=alpha, quantities=names, backend=backend, digits=digits)


def spectral_norm(*, mu: Any, nu: Any, omega: Any = "0", tau: Any = "1",
                  activation: ModelSpec = "selu", lam: Any = None, alpha: Any = None,
                  backend: str = "mpmath", digits: int = 30) -> MapPoint:
    """S(H), the largest singular value of the Jacobian of g — the contraction constant
    (``.spectral_norm``); as :func:`evaluate_map`."""
    return evaluate_map(mu=mu, nu=nu, omega=omega, tau=tau, activation=activation, lam=lam,
                        alpha=alpha, quantities=("spectral_norm",), backend=backend,
                        digits=digits)


def iterate(*, mu: Any, nu: Any, omega: Any = "0", tau: Any = "1", steps: int = 10,
            activation: ModelSpec = "selu", lam: Any = None, alpha: Any = None,
            backend: str = "mpmath", digits: int = 30) -> MapPoint:
    """The trajectory (μ_k, ν_k), k = 0..steps, of g from (μ, ν) (``.trajectory``, start
    first) beside g at the start; as :func:`evaluate_map`.  With the Gaussian model each
    step maps the exact midpoint of the previous ball."""
    return map_point(activation, mu=mu, nu=nu, omega=omega, tau=tau, lam=lam, alpha=alpha,
                     steps=steps, backend=backend, digits=digits,
                     quantities=("mean", "variance"))


def fixed_point(*, omega: Any = "0", tau: Any = "1", activation: ModelSpec = "selu",
                lam: Any = None, alpha: Any = None, digits: int = 30,
                start: tuple[Any, Any] = (0, 1)) -> FixedPoint:
    """The fixed point (μ*, ν*) of g for weights (ω, τ), certified by a Krawczyk test at
    ``digits`` decimal digits (:meth:`MomentModel.fixed_point`; :class:`ArithmeticError`
    when it cannot be certified).

    >>> from snn_theory import fixed_point
    >>> fp = fixed_point(digits=20)
    >>> fp.proved, fp.mean.contains(0), abs(fp.variance - 1) < 1e-18
    (True, True, True)
    """
    model = resolve(activation, lam=lam, alpha=alpha)
    for name, value, positive in (("omega", omega, False), ("tau", tau, True)):
        moment_map.check_scalar(name, value, positive)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= MAX_DIGITS:
        raise InputError(f"digits must be an integer in 1..{MAX_DIGITS} (got {digits!r})")
    with working_precision(digits=digits):
        return model.fixed_point(omega, tau, start=start)


__all__ = ["FLOAT_TOLERANCE", "MAX_DIGITS", "MAX_ITERATIONS", "MapPoint", "evaluate_map",
           "fixed_point", "float_errors", "iterate", "jacobian", "map_point", "moments",
           "spectral_norm"]
