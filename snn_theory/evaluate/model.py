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

* :meth:`MomentModel.expectations` — arb enclosures of E[f(x)], E[f(x)²] (or any E[f(x)ᵖ])
  and their partials in (m, v), x ~ N(m, v), at points or over boxes (balls);
* :meth:`MomentModel.evaluate` — the map g = (μ̃, ν̃), its Jacobians J, H and S(H) at a point
  or over a box, in each number system of :attr:`MomentModel.backends` ("arb": balls that
  contain the exact value for every point of the input box; "mpmath": point values);
* :meth:`MomentModel.iterate` — trajectories of g;
* :meth:`MomentModel.fixed_point` — the fixed point (μ*, ν*) of g, certified unique in a small
  box by a Krawczyk test (:class:`ArithmeticError` when the test fails);
* :meth:`MomentModel.evaluate_float`, :meth:`MomentModel.fixed_points_float` — float64
  evidence on arrays (pictures, Monte Carlo comparisons), not proofs.

The map at one point with its precision policy, and the keyword-only public functions
(``moments``, ``jacobian``, ``fixed_point``, …) built on a model, are
:mod:`snn_theory.evaluate.point`.

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

import functools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from flint import arb

from snn_theory.derive import activations, derivatives, formulas
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.evaluate import activation_map, backends, gaussian, gaussian_moments, moment_map
from snn_theory.evaluate.activation_map import FixedPoint
from snn_theory.exact import parse_exact

Number = Any

#: The quantities of the map at a point (what ``snn-theory map`` prints).
MAP_QUANTITIES = ("mean", "second_moment", "variance", "H11", "H12", "H21", "H22",
                  "spectral_norm")

#: What :meth:`MomentModel.propagation` encloses: the map's mean, variance and ∂ν̃/∂ν, then
#: E[f′(z)], E[f′(z)²], χ₁ = τ·E[f′²], ω²·E[f′]², v·E[f′]²/ν̃, v·E[f′²]/ν̃ (z ~ N(ωμ, τν)).
PROPAGATION_QUANTITIES = ("mean", "variance", "H22", "slope_mean", "slope_second_moment",
                          "chi1", "chi_mean", "chi_c0", "chi_c1")


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
    def expectations(self, m: Any, v: Any, *, order: int = 2, powers: Sequence[int] = (1, 2)
                     ) -> gaussian_moments.MomentPartials:
        """Enclosures of ∂ⁱ_m ∂ʲ_v E[f(x)ᵖ], x ~ N(m, v), i + 2j ≤ ``order``, for each power p
        of ``powers`` (default E[f] and E[f²]; any moment-like quantity E[fᵖ] the same way),
        that contain the exact values for every (m, v) in the balls (v > 0), at the current
        precision: ``result.partial(p, i, j)``.  Both models use the rigorous Gaussian engine
        here (its exp-polynomial pieces, SELU's among them, are integrated in closed form)."""
        m_b, v_b = activation_map.ball(m), activation_map.ball(v)
        if not v_b > 0:
            raise InputError(f"the Gaussian variance v must be > 0 (got {v})")
        if not powers or any(isinstance(p, bool) or not isinstance(p, int)
                             or not 1 <= p <= gaussian.MAX_POWER for p in powers):
            raise InputError(f"the powers of E[f^p] must be integers in 1..{gaussian.MAX_POWER} "
                             f"(got {tuple(powers)})")
        return gaussian_moments.moment_partials(self.activation, m_b, v_b, order=order,
                                                powers=powers)

    @abstractmethod
    def evaluate(self, mu: Any, omega: Any, nu: Any, tau: Any, *,
                 quantities: Sequence[str] = MAP_QUANTITIES,
                 backend: str = "arb") -> dict[str, Number]:
        """The ``quantities`` (names of :data:`snn_theory.derive.formulas.QUANTITIES`) of g at
        (μ, ω, ν, τ) in ``backend`` at the current precision.  "arb": balls containing the
        value at every point of the input balls.  Raises :class:`InputError` for bad input
        (ν, τ ≤ 0, not finite, a backend the model does not support)."""

    @abstractmethod
    def propagation(self, mu: arb, omega: arb, nu: arb, tau: arb) -> dict[str, arb]:
        """arb enclosures of :data:`PROPAGATION_QUANTITIES` at (μ, ω, ν, τ) (balls; ν, τ > 0),
        at the current precision: the quantities of signal propagation through one layer
        (docs/propagation.md)."""

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
        return moment_map.closed_form_quantities(mu, omega, nu, tau, self.lam, self.alpha,
                                                 backend=backend, quantities=tuple(quantities))

    def parameters_arb(self) -> tuple[arb, arb]:
        """(λ, α) as arb balls at the current precision (λ01, α01 from their closed forms)."""
        dl, da = moment_map.default_constants("arb")
        return (dl if self.lam is None else moment_map.to_number(self.lam, "arb"),
                da if self.alpha is None else moment_map.to_number(self.alpha, "arb"))

    def propagation(self, mu: arb, omega: arb, nu: arb, tau: arb) -> dict[str, arb]:
        lam, alpha = self.parameters_arb()
        values = backends.propagation_function("arb")(mu, omega, nu, tau, lam, alpha)
        out = dict(zip(formulas.PROPAGATION, values))
        out.update(moment_map.closed_form_quantities(mu, omega, nu, tau, lam, alpha,
                                                     backend="arb", check=False,
                                                     quantities=("mean", "variance", "H22")))
        return {k: out[k] for k in PROPAGATION_QUANTITIES}

    def evaluate_digits(self, mu: Any, omega: Any, nu: Any, tau: Any, *, digits: int,
                        quantities: Sequence[str] = MAP_QUANTITIES
                        ) -> moment_map.CheckedValues:
        """mpmath values with ``digits`` correct digits, vouched for by arb
        (:func:`snn_theory.evaluate.moment_map.evaluate_digits`)."""
        return moment_map.evaluate_digits(mu, omega, nu, tau, self.lam, self.alpha,
                                          digits=digits, quantities=tuple(quantities))

    def iterate(self, mu: Any, omega: Any, nu: Any, tau: Any, *, steps: int = 10,
                backend: str = "arb") -> list[tuple[Number, Number]]:
        return moment_map.closed_form_trajectory(mu, omega, nu, tau, steps=steps, lam=self.lam,
                                                 alpha=self.alpha, backend=backend)

    def fixed_point(self, omega: Any = 0, tau: Any = 1, *,
                    start: tuple[Any, Any] = (0, 1)) -> FixedPoint:
        mean, variance = moment_map.closed_form_fixed_point(omega, tau, self.lam, self.alpha,
                                                            backend="arb", start=start)
        return FixedPoint(mean, variance, True)

    def evaluate_float(self, mu: Any, omega: Any, nu: Any, tau: Any,
                       quantities: Sequence[str]) -> dict[str, np.ndarray]:
        mu, omega, nu, tau = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64)
                                                    for a in (mu, omega, nu, tau)))
        with np.errstate(all="ignore"):
            values = moment_map.closed_form_quantities(
                mu, omega, np.where(nu * tau > 0, nu, np.nan), tau, self.lam, self.alpha,
                backend="numpy", quantities=tuple(quantities), check=False)
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
        values = activation_map.gaussian_quantities(self.activation, mu, omega, nu, tau, quantities)
        if backend == "mpmath":
            return {k: activation_map.to_mpf(x) for k, x in values.items()}
        return values

    def propagation(self, mu: arb, omega: arb, nu: arb, tau: arb) -> dict[str, arb]:
        m, v = mu * omega, nu * tau
        out = gaussian_moments.quantities(self.activation, mu, omega, nu, tau,
                                          ("mean", "variance", "H22"))
        e = gaussian.expectations(self.derivative, m, v, order=0, powers=(1, 2))
        c = gaussian.fraction_ball(self.activation.scale)
        slope_mean = c * e.values[(1, 0)]
        second = c * c * e.values[(2, 0)]
        var = out["variance"]
        out.update(slope_mean=slope_mean, slope_second_moment=second, chi1=tau * second,
                   chi_mean=omega**2 * slope_mean**2, chi_c0=v * slope_mean**2 / var,
                   chi_c1=v * second / var)
        return {k: out[k] for k in PROPAGATION_QUANTITIES}

    @functools.cached_property
    def derivative(self) -> Activation:
        """g′ piece by piece with its growth bound (:mod:`snn_theory.derive.derivatives`;
        f′ = c·g′, the scale c applied by the caller)."""
        return derivatives.derivative_activation(self.activation)

    def iterate(self, mu: Any, omega: Any, nu: Any, tau: Any, *, steps: int = 10,
                backend: str = "arb") -> list[tuple[Number, Number]]:
        self.check_backend(backend)
        trajectory = activation_map.gaussian_trajectory(self.activation, mu, omega, nu, tau,
                                                        steps=steps)
        if backend == "mpmath":
            return [(activation_map.to_mpf(m), activation_map.to_mpf(v)) for m, v in trajectory]
        return trajectory

    def fixed_point(self, omega: Any = 0, tau: Any = 1, *,
                    start: tuple[Any, Any] = (0, 1)) -> FixedPoint:
        result = activation_map.gaussian_fixed_point(self.activation, omega, tau, start=start)
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


__all__ = ["MAP_QUANTITIES", "PROPAGATION_QUANTITIES", "ClosedFormModel", "FixedPoint", "GaussianModel", "ModelSpec",
           "MomentModel", "activation_of", "resolve"]
