"""The moment model: one activation's mean/variance map g, chosen once, behind one interface.

An activation — a built-in name, an expression in x, a member c·f + d of an affine family,
or an :class:`~snn_theory.derive.activations.Activation` — resolves ONCE, by
:func:`resolve`, to a :class:`MomentModel`; every stage then asks that object, never which
activation it is::

    >>> from snn_theory.evaluate.model import resolve
    >>> model = resolve("selu")                   # closed forms (docs/mathematics.md §1)
    >>> model.label, model.closed_form
    ('SELU', True)
    >>> resolve("tanh", scale="2").label          # rigorous Gaussian integrals
    '2*tanh'

What a model offers (the protocol; both implementations below keep it):

* :meth:`MomentModel.expectations` — arb enclosures of E[f(x)], E[f(x)²] and their partials
  in (m, v), x ~ N(m, v), at points or over boxes (balls);
* :meth:`MomentModel.evaluate` — the map g = (μ̃, ν̃), its Jacobians J, H and S(H) at a point
  or over a box, in each number system of :attr:`MomentModel.backends` ("arb": balls that
  contain the exact value for every point of the input box; "mpmath": point values);
* :meth:`MomentModel.iterate` — trajectories of g;
* :meth:`MomentModel.fixed_point` — the fixed point (μ*, ν*) of g, certified unique in a small
  box by a Krawczyk test (:class:`ArithmeticError` when the test fails);
* :meth:`MomentModel.evaluate_float`, :meth:`MomentModel.fixed_points_float` — float64
  evidence on arrays (pictures, Monte Carlo comparisons), not proofs.

Two implementations, the way optax writes one ``GradientTransformation`` many times:

* :class:`ClosedFormModel` — SELU with any λ, α > 0: the closed forms of
  :mod:`snn_theory.derive.formulas`, generated for every number system
  (:mod:`snn_theory.evaluate.moment_map`; backends mpmath, arb, numpy, jax);
* :class:`GaussianModel` — any other activation: rigorous Gaussian integrals
  (:mod:`snn_theory.evaluate.gaussian`, :mod:`snn_theory.evaluate.activation_map`; backends arb
  and mpmath, whose values are the midpoints of the arb enclosures).

This module adds no formula: it wraps those evaluators.  Adding an activation is adding data
to :mod:`snn_theory.derive.activations` (docs/architecture.md, "How to add an activation").
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
from flint import arb

from snn_theory.derive import activations
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError, PrecisionExhausted
from snn_theory.evaluate import activation_map, backends, gaussian, moment_map
from snn_theory.evaluate.activation_map import FixedPoint
from snn_theory.exact import parse_exact
from snn_theory.precision import digits_to_bits, working_precision

Number = Any

#: The quantities of the map at a point (what ``snn-theory map`` prints).
MAP_QUANTITIES = ("mean", "second_moment", "variance", "H11", "H12", "H21", "H22",
                  "spectral_norm")


class MomentModel(ABC):
    """One activation's moment map (the protocol; see the module docstring).

    Attributes:
        activation: the activation f (exact definition; what certificates record).
        closed_form: whether g is evaluated by closed forms (else by Gaussian integrals).
        backends: the number systems :meth:`evaluate` supports.
    """

    activation: Activation
    closed_form: bool
    backends: tuple[str, ...]

    # -- names
    @property
    def name(self) -> str:
        """The activation's name (``"selu"``, ``"tanh"``, or the user's expression)."""
        return self.activation.name

    @property
    def label(self) -> str:
        """A human label, with the affine parameters when not (1, 0)."""
        return self.activation.label()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r})"

    # -- enclosures
    def expectations(self, m: Any, v: Any, *, order: int = 2) -> gaussian.MomentPartials:
        """Enclosures of ∂ⁱ_m ∂ʲ_v E[f(x)] and E[f(x)²], x ~ N(m, v), i + j ≤ ``order``, that
        contain the exact values for every (m, v) in the balls (v > 0), at the current
        precision.  Both models use the rigorous Gaussian engine here (its exp-polynomial
        pieces, SELU's among them, are integrated in closed form)."""
        m_b, v_b = activation_map.ball(m), activation_map.ball(v)
        if not v_b > 0:
            raise InputError(f"the Gaussian variance v must be > 0 (got {v})")
        return gaussian.moment_partials(self.activation, m_b, v_b, order=order)

    @abstractmethod
    def evaluate(self, mu: Any, omega: Any, nu: Any, tau: Any, *,
                 quantities: Sequence[str] = MAP_QUANTITIES,
                 backend: str = "arb") -> dict[str, Number]:
        """The ``quantities`` (names of :data:`snn_theory.derive.formulas.QUANTITIES`) of g at
        (μ, ω, ν, τ) in ``backend`` at the current precision.  "arb": balls containing the
        value at every point of the input balls.  Raises :class:`InputError` for bad input
        (ν, τ ≤ 0, not finite, a backend the model does not support)."""

    @abstractmethod
    def iterate(self, mu: Any, omega: Any, nu: Any, tau: Any, *, steps: int = 10,
                backend: str = "arb") -> list[tuple[Number, Number]]:
        """The trajectory (μ_k, ν_k), k = 0..steps, of g from (μ, ν), start first.  Raises
        :class:`InputError` (a ValueError) if an iterate leaves the domain ν > 0."""

    @abstractmethod
    def fixed_point(self, omega: Any = 0, tau: Any = 1, *,
                    start: tuple[Any, Any] = (0, 1)) -> FixedPoint:
        """The fixed point (μ*, ν*) of g for weights (ω, τ): Newton's method from ``start``,
        then a Krawczyk test in arb at the current precision that proves the returned balls
        hold the unique fixed point in a small box.  Raises :class:`ArithmeticError` when it
        cannot be certified (``proved`` is True on every returned value)."""

    @abstractmethod
    def evaluate_float(self, mu: Any, omega: Any, nu: Any, tau: Any,
                       quantities: Sequence[str]) -> dict[str, np.ndarray]:
        """float64 values on broadcast arrays: evidence, not proof; NaN where ν·τ ≤ 0."""

    def fixed_points_float(self, omega: Any, tau: Any, *,
                           start: tuple[float, float] = (0.0, 1.0)
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float64 fixed points (μ*, ν*, converged) for arrays of (ω, τ) (evidence)."""
        return activation_map.fixed_points_float(self.activation, omega, tau, start=start)

    def require_closed_form(self, message: str) -> None:
        """:class:`InputError` with ``message`` unless this model evaluates closed forms: how a
        caller refuses options that exist for SELU only (λ, α, alpha dropout, …)."""
        if not self.closed_form:
            raise InputError(message)

    # -- the map at a point, with the precision policy (the library half of ``map``)
    def check_backend(self, backend: str) -> None:
        """:class:`InputError` unless ``backend`` is one this model evaluates in."""
        if backend not in backends.BACKENDS:
            raise InputError(f"--backend must be one of {', '.join(backends.BACKENDS)} "
                             f"(got {backend!r})")
        if backend not in self.backends:
            raise InputError(f"--backend {backend} evaluates the SELU closed forms only; with "
                             "--activation use arb or mpmath")


class ClosedFormModel(MomentModel):
    """SELU, f(x) = λx (x > 0), λα(eˣ − 1) (x ≤ 0): g by its closed forms.

    ``lam``, ``alpha``: the parameters (exact decimal strings, numbers or balls; ``None`` =
    λ01, α01 from their closed forms in each number system, docs/mathematics.md §3).
    """

    closed_form = True
    backends = backends.BACKENDS

    def __init__(self, activation: Activation | None = None, lam: Any = None,
                 alpha: Any = None) -> None:
        self.activation = activation if activation is not None else activations.get("selu")
        self.lam, self.alpha = lam, alpha

    @property
    def label(self) -> str:
        return "SELU"

    @property
    def default_parameters(self) -> bool:
        """Whether λ, α are λ01, α01 (the closed forms)."""
        return self.lam is None and self.alpha is None

    def evaluate(self, mu: Any, omega: Any, nu: Any, tau: Any, *,
                 quantities: Sequence[str] = MAP_QUANTITIES,
                 backend: str = "arb") -> dict[str, Number]:
        return moment_map.evaluate(mu, omega, nu, tau, self.lam, self.alpha, backend=backend,
                                   quantities=tuple(quantities))

    def evaluate_digits(self, mu: Any, omega: Any, nu: Any, tau: Any, *, digits: int,
                        quantities: Sequence[str] = MAP_QUANTITIES
                        ) -> moment_map.CheckedValues:
        """mpmath values with ``digits`` correct digits, vouched for by arb
        (:func:`snn_theory.evaluate.moment_map.evaluate_digits`)."""
        return moment_map.evaluate_digits(mu, omega, nu, tau, self.lam, self.alpha,
                                          digits=digits, quantities=tuple(quantities))

    def iterate(self, mu: Any, omega: Any, nu: Any, tau: Any, *, steps: int = 10,
                backend: str = "arb") -> list[tuple[Number, Number]]:
        return moment_map.iterate(mu, omega, nu, tau, steps=steps, lam=self.lam,
                                  alpha=self.alpha, backend=backend)

    def fixed_point(self, omega: Any = 0, tau: Any = 1, *,
                    start: tuple[Any, Any] = (0, 1)) -> FixedPoint:
        mean, variance = moment_map.fixed_point(omega, tau, self.lam, self.alpha,
                                                backend="arb", start=start)
        return FixedPoint(mean, variance, True)

    def evaluate_float(self, mu: Any, omega: Any, nu: Any, tau: Any,
                       quantities: Sequence[str]) -> dict[str, np.ndarray]:
        mu, omega, nu, tau = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64)
                                                    for a in (mu, omega, nu, tau)))
        with np.errstate(all="ignore"):
            values = moment_map.evaluate(mu, omega, np.where(nu * tau > 0, nu, np.nan), tau,
                                         self.lam, self.alpha, backend="numpy",
                                         quantities=tuple(quantities), check=False)
        return {k: np.asarray(v, dtype=np.float64) * np.ones(mu.shape)
                for k, v in values.items()}

    def fixed_points_float(self, omega: Any, tau: Any, *,
                           start: tuple[float, float] = (0.0, 1.0)
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):
            r = moment_map.newton_fixed_point(omega, tau, self.lam, self.alpha,
                                              backend="numpy", start=start)
        return np.asarray(r.mu), np.asarray(r.nu), np.asarray(r.converged)


class GaussianModel(MomentModel):
    """Any activation: g by rigorous Gaussian integrals in arb (:mod:`snn_theory.evaluate.gaussian`).

    Backends: "arb" (balls) and "mpmath" (the exact midpoints of those balls, as mpmath
    numbers at the current precision: point values, not enclosures).
    """

    closed_form = False
    backends = ("arb", "mpmath")

    def __init__(self, activation: Activation) -> None:
        self.activation = activation

    def evaluate(self, mu: Any, omega: Any, nu: Any, tau: Any, *,
                 quantities: Sequence[str] = MAP_QUANTITIES,
                 backend: str = "arb") -> dict[str, Number]:
        self.check_backend(backend)
        for name, value, positive in (("mu", mu, False), ("omega", omega, False),
                                      ("nu", nu, True), ("tau", tau, True)):
            moment_map.check_scalar(name, value, positive)
        values = activation_map.evaluate(self.activation, mu, omega, nu, tau, quantities)
        if backend == "mpmath":
            return {k: activation_map.to_mpf(x) for k, x in values.items()}
        return values

    def iterate(self, mu: Any, omega: Any, nu: Any, tau: Any, *, steps: int = 10,
                backend: str = "arb") -> list[tuple[Number, Number]]:
        self.check_backend(backend)
        trajectory = activation_map.iterate(self.activation, mu, omega, nu, tau, steps=steps)
        if backend == "mpmath":
            return [(activation_map.to_mpf(m), activation_map.to_mpf(v)) for m, v in trajectory]
        return trajectory

    def fixed_point(self, omega: Any = 0, tau: Any = 1, *,
                    start: tuple[Any, Any] = (0, 1)) -> FixedPoint:
        result = activation_map.fixed_point(self.activation, omega, tau, start=start)
        if not result.proved:
            raise ArithmeticError("Krawczyk test failed: the fixed point of "
                                  f"{self.label} could not be certified")
        return result

    def evaluate_float(self, mu: Any, omega: Any, nu: Any, tau: Any,
                       quantities: Sequence[str]) -> dict[str, np.ndarray]:
        return activation_map.evaluate_float(self.activation, mu, omega, nu, tau, quantities)


ModelSpec = str | Activation | MomentModel


def resolve(spec: ModelSpec = "selu", *, scale: Any = 1, shift: Any = 0, lam: Any = None,
            alpha: Any = None) -> MomentModel:
    """The moment model of an activation, resolved once.

    Args:
        spec: a built-in name (``"selu"``, ``"tanh"``, …), an expression in x
            (``"1.59*tanh(x)"``), an :class:`Activation`, or a model (returned as it is).
        scale, shift: c, d of the member c·f + d of the affine family (exact decimals).
        lam, alpha: SELU's λ, α > 0 (default λ01, α01); not with another activation.

    Returns :class:`ClosedFormModel` for SELU (scale 1, shift 0), :class:`GaussianModel`
    otherwise.  Raises :class:`InputError` for an unknown name, an expression that does not
    parse, scale 0, or λ, α with another activation.
    """
    c = parse_exact(scale, "the activation's scale")
    d = parse_exact(shift, "the activation's shift")
    if isinstance(spec, MomentModel):
        if (c, d) == (1, 0) and lam is None and alpha is None:
            return spec
        spec = spec.activation
    if isinstance(spec, Activation):
        if c == 0:
            raise InputError("the activation's scale must be nonzero")
        act = spec if (c, d) == (1, 0) else spec.with_affine(spec.scale * c,
                                                             spec.shift * c + d)
    else:
        act = activations.get(spec, c, d)
    if act.is_selu:
        return ClosedFormModel(act, lam, alpha)
    if lam is not None or alpha is not None:
        raise InputError("lam and alpha are SELU's parameters; not with another activation")
    return GaussianModel(act)


def activation_of(spec: ModelSpec | None) -> Activation | None:
    """The activation of a model specification (``None`` stays ``None``: the caller's
    default, SELU).  For library entry points that accept an activation by name, expression,
    :class:`Activation` or model."""
    return None if spec is None else resolve(spec).activation


# ----------------------------------------------------------------------------- one point
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


__all__ = ["MAP_QUANTITIES", "ClosedFormModel", "FixedPoint", "GaussianModel", "MapPoint",
           "ModelSpec", "MomentModel", "activation_of", "evaluate_map", "fixed_point", "float_errors",
           "iterate", "jacobian", "map_point", "moments", "resolve", "spectral_norm"]

