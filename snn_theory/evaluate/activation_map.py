"""The moment map g of any activation: values, trajectories, fixed points, affine constants.

The SELU pipeline's quantities (docs/mathematics.md §1–2) for an activation f
(:mod:`snn_theory.derive.activations`), evaluated in arb ball arithmetic by the rigorous Gaussian
engine (:mod:`snn_theory.evaluate.gaussian`).  SELU itself keeps its closed forms
(:mod:`snn_theory.evaluate.moment_map`); this module is what ``--activation`` selects otherwise.

Affine constants: for f = c·g + d the moments at the target (μ*, ν*) with weights (ω, τ)
are E[f] = c·M₁ + d and Var[f] = c²·V with M₁ = E[g(x)], V = Var[g(x)], x ~ N(μ*ω, ν*τ),
which do not depend on (c, d).  So the fixed-point conditions μ̃ = μ*, ν̃ = ν* have exactly
the two solutions c = ±√(ν*/V), d = μ* − c·M₁ whenever V > 0 (every non-constant g);
:func:`solve_affine` returns the one with c > 0, proven unique in a small box by a Krawczyk
test on F(c, d) = (c·M₁ + d − μ*, c²·V − ν*).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
from flint import arb, ctx, fmpq

from snn_theory.derive import formulas
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError, NumericalFailure
from snn_theory.evaluate import activation_functions, gaussian_moments
from snn_theory.evaluate.krawczyk import krawczyk
from snn_theory.evaluate.moment_map import arb_to_mpf, mpf_to_arb, newton_fixed_point
from snn_theory.exact import parse_exact
from snn_theory.precision import working_precision


def ball(x: Any) -> arb:
    """x as an arb ball: exact for ints, Fractions, floats and mpmath numbers; a decimal string
    is enclosed; a ball is returned as it is."""
    if isinstance(x, arb):
        return x
    if isinstance(x, Fraction):
        return arb(fmpq(x.numerator, x.denominator))
    if isinstance(x, mpmath.mpf):
        return mpf_to_arb(x)
    return arb(str(x)) if isinstance(x, str) else arb(x)


def gaussian_quantities(act: Activation, mu: Any, omega: Any, nu: Any, tau: Any,
                        quantities: Sequence[str] | None = None) -> dict[str, arb]:
    """Enclosures of the quantities at (μ, ω, ν, τ) (numbers or balls) at the current
    precision.  Raises :class:`InputError` unless ν·τ > 0, ArithmeticError if an integral
    fails."""
    mu, omega, nu, tau = (ball(x) for x in (mu, omega, nu, tau))
    if not (nu > 0 and tau > 0):
        raise InputError("nu and tau must be > 0")
    kwargs = {} if quantities is None else {"names": tuple(quantities)}
    return gaussian_moments.quantities(act, mu, omega, nu, tau, **kwargs)


#: Half-width (in standard deviations), sub-intervals per piece and Gauss–Legendre nodes
#: per sub-interval of the float evaluator :func:`evaluate_float` (the Gaussian mass
#: beyond 12 s.d. is below 1e-32; short sub-intervals keep the rule accurate for
#: integrands with complex poles near the axis, e.g. tanh(s·z) for large s).
FLOAT_RANGE = 12.0
FLOAT_SUBINTERVALS = 16
FLOAT_NODES = 24


@functools.cache
def _derived_numpy(names: tuple[str, ...]) -> Any:
    from snn_theory.derive.codegen import compile_function
    from snn_theory.evaluate.backends import namespace

    args = (*formulas.BASE_SYMBOLS, formulas.nu)
    return compile_function(args, [formulas.DERIVED[n] for n in names], namespace("numpy"),
                            name="float_" + "_".join(names))


def evaluate_float(act: Activation, mu: Any, omega: Any, nu: Any, tau: Any,
                   quantities: Sequence[str]) -> dict[str, np.ndarray]:
    """Float64 values of the quantities on broadcast arrays: **evidence, not a proof** (for
    pictures).  The same (m, v) formulas as :mod:`snn_theory.evaluate.gaussian` —
    ∂ⁿ_m E[h] = E[h·Heₙ(z)]/sⁿ, ∂_v = ½∂²_m — with the expectations by composite
    Gauss–Legendre quadrature in z = (x − m)/s over [−12, 12], split at the kinks
    (k − m)/s so that each rule integrates a smooth piece; NaN where ν·τ ≤ 0."""
    mu, omega, nu, tau = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64)
                                                for a in (mu, omega, nu, tau)))
    shape = mu.shape
    m = (mu * omega).ravel()
    v = (nu * tau).ravel()
    with np.errstate(all="ignore"):
        s = np.sqrt(np.where(v > 0, v, np.nan))
        t, w = np.polynomial.legendre.leggauss(FLOAT_NODES)
        ends = [np.full_like(m, -FLOAT_RANGE)]
        ends += [np.clip((float(k) - m) / s, -FLOAT_RANGE, FLOAT_RANGE) for k in act.kinks]
        ends.append(np.full_like(m, FLOAT_RANGE))
        A = np.zeros((3, m.size))
        B = np.zeros((3, m.size))
        cuts = []
        for a, b in zip(ends[:-1], ends[1:]):
            for k in range(FLOAT_SUBINTERVALS):
                cuts.append((a + (b - a) * k / FLOAT_SUBINTERVALS,
                             a + (b - a) * (k + 1) / FLOAT_SUBINTERVALS))
        for a, b in cuts:
            half = (b - a)[:, None] / 2
            z = (a + b)[:, None] / 2 + half * t[None, :]
            weight = half * w[None, :] * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)
            f = activation_functions.value_numpy(act, m[:, None] + s[:, None] * z)
            for n, he in enumerate((1.0, z, z * z - 1)):
                A[n] += np.sum(f * he * weight, axis=1)
                B[n] += np.sum(f * f * he * weight, axis=1)
        om, ta, nn = omega.ravel(), tau.ravel(), nu.ravel()
        base = (A[0], B[0], om * A[1] / s, ta * A[2] / (2 * v), om * B[1] / s,
                ta * B[2] / (2 * v))
        names = tuple(quantities)
        values = _derived_numpy(names)(*base, nn)
    return {n: np.asarray(x, dtype=np.float64).reshape(shape) * np.ones(shape)
            for n, x in zip(names, values)}


def fixed_points_float(act: Activation, omega: Any, tau: Any, *, iterations: int = 60,
                       start: tuple[float, float] = (0.0, 1.0)
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float64 fixed points (μ*, ν*) of g for arrays of (ω, τ) by the one Newton loop
    (:func:`snn_theory.evaluate.moment_map.newton_fixed_point`) on :func:`evaluate_float`
    (evidence, not certified).  Returns ``(mu, nu, converged)``; NaN where it did not
    converge."""
    def evaluator(mu: Any, om: Any, nu: Any, ta: Any, names: tuple[str, ...]
                  ) -> dict[str, np.ndarray]:
        return evaluate_float(act, mu, om, nu, ta, names)

    omega, tau = np.broadcast_arrays(np.asarray(omega, float), np.asarray(tau, float))
    with np.errstate(all="ignore"):
        r = newton_fixed_point(omega, tau, backend="numpy", start=start,
                               max_iterations=iterations, tolerance=1e-12,
                               evaluator=evaluator)
    return np.asarray(r.mu, float), np.asarray(r.nu, float), np.asarray(r.converged, bool)


def iterate_float(act: Activation, mu0: float, omega: float, nu0: float, tau: float, *,
                  steps: int) -> np.ndarray:
    """Iterates (μ_k, ν_k), k = 0..steps, of g in float64 (shape (steps + 1, 2))."""
    out = [(float(mu0), float(nu0))]
    for _ in range(int(steps)):
        q = evaluate_float(act, out[-1][0], omega, out[-1][1], tau, ("mean", "variance"))
        out.append((float(q["mean"]), float(q["variance"])))
    return np.array(out)


def variance_collapse(act: Activation, omega: Any, tau: Any, *, steps: int = 60,
                      start: tuple[float, float] = (0.0, 1.0)) -> float | None:
    """Float64 **evidence, not a proof**, that the moment map g of ``act`` at (ω, τ) has no
    fixed point with ν* > 0 that attracts (μ, ν) = ``start``: the variance of the iterates of
    g (:func:`iterate_float`) falls at every layer and ends below 5 % of its start.  Returns
    ν after ``steps`` layers when so (the fixed point the iterates approach is the trivial
    ν* = 0: constant pre-activations), else None.

    >>> from snn_theory.derive import activations
    >>> variance_collapse(activations.get("tanh"), 0, 1) < 0.01
    True
    >>> variance_collapse(activations.get("selu"), 0, 1) is None
    True
    """
    path = iterate_float(act, start[0], float(omega), start[1], float(tau), steps=steps)
    return collapsed_variance(path[:, 1])


def collapsed_variance(variances: Any) -> float | None:
    """The rule by which a sequence of variances ν_0, ν_1, … of iterates counts as falling to
    the trivial fixed point ν* = 0 (float evidence, not a proof): all finite, ν_0 > 0, ν falls
    at every step and ends below 5 % of ν_0.  Returns the last ν when so, else None."""
    nu = np.asarray(variances, dtype=float)
    if nu.size == 0 or not np.all(np.isfinite(nu)) or nu[0] <= 0:
        return None
    falling = bool(np.all(np.diff(nu) <= 0))
    return float(nu[-1]) if falling and nu[-1] < 0.05 * nu[0] else None


def trivial_fixed_point(act: Activation, omega: Any, tau: Any) -> str | None:
    """Why no fixed point with ν* > 0 can be certified, when :func:`variance_collapse`
    finds the variance falling to the trivial fixed point ν* = 0 (a diagnosis from float
    evidence, and the message says so), with what to do instead; None otherwise."""
    collapse = variance_collapse(act, float(omega), float(tau))
    if collapse is None:
        return None
    return (f"{act.label()} at omega = {omega}, tau = {tau}: the moment map drives the "
            f"variance to the trivial fixed point nu* = 0 (constant pre-activations, where "
            f"chi1 and the correlation map say nothing), so there is no fixed point with "
            f"nu* > 0 to certify (a diagnosis from float evidence, not a proof: iterated from "
            f"(mu, nu) = (0, 1), nu falls at every layer, to {collapse:.2g} after 60 layers).  "
            f"Scale the activation so that (0, 1) is the fixed point (--scale with the "
            f"certified c of `snn-theory solve-constants --activation {act.definition}`) or "
            f"use a larger tau")


def gaussian_trajectory(act: Activation, mu: Any, omega: Any, nu: Any, tau: Any, *,
                        steps: int = 10) -> list[tuple[arb, arb]]:
    """The trajectory (μ_k, ν_k), k = 0..steps, of g from (μ_0, ν_0) = (mu, nu); arguments
    in the one order (mu, omega, nu, tau) of :func:`gaussian_quantities`.  Each step maps the exact midpoint of
    the previous ball (so every printed ball encloses g of the previous *midpoint*: a
    rigorous one-step enclosure, not an enclosure of the whole orbit)."""
    point = (ball(mu), ball(nu))
    out = [point]
    for _ in range(int(steps)):
        m, v = arb(point[0].mid()), arb(point[1].mid())
        if not v > 0:
            raise InputError(f"the trajectory left the domain (nu = {v} is not > 0)")
        q = gaussian_quantities(act, m, omega, v, tau, ("mean", "variance"))
        point = (q["mean"], q["variance"])
        out.append(point)
    return out


@dataclass(frozen=True)
class FixedPoint:
    """A Krawczyk-certified fixed point of g: the unique one in ``box``."""

    mean: arb
    variance: arb
    proved: bool
    bits: int = field(default_factory=lambda: ctx.prec)  # the working precision used

    def __repr__(self) -> str:
        digits = mpmath.libmp.prec_to_dps(self.bits)
        return (f"FixedPoint(proved={self.proved}, {self.bits} bits: "
                f"mean={self.mean.str(digits, radius=True)}, "
                f"variance={self.variance.str(digits, radius=True)})")


def gaussian_fixed_point(act: Activation, omega: Any = 0, tau: Any = 1,
                         start: tuple[Any, Any] = (0, 1), iterations: int = 60) -> FixedPoint:
    """The one Newton loop (:func:`snn_theory.evaluate.moment_map.newton_fixed_point`) on
    g(x) − x with the midpoints of the arb enclosures, at the arb precision, then a
    Krawczyk test in arb around its last iterate (``proved`` False if the test fails;
    :class:`ArithmeticError` if Newton's method leaves ν > 0)."""
    omega_b, tau_b = ball(omega), ball(tau)

    def evaluator(mu: Any, om: Any, nu: Any, ta: Any, names: tuple[str, ...]
                  ) -> dict[str, Any]:
        q = gaussian_quantities(act, mpf_to_arb(mu), omega_b, mpf_to_arb(nu), tau_b, names)
        return {k: arb_to_mpf(v.mid()) for k, v in q.items()}

    with mpmath.workprec(ctx.prec):
        try:
            r = newton_fixed_point(omega, tau, backend="mpmath", start=start,
                                   max_iterations=iterations,
                                   tolerance=mpmath.mpf(2) ** (-(ctx.prec - 8)),
                                   evaluator=evaluator)
        except NumericalFailure as exc:
            if "left the domain" in str(exc):
                raise ArithmeticError("Newton's method left the domain (nu <= 0)") from None
            raise ArithmeticError(str(exc)) from None
        if not (mpmath.isfinite(r.mu) and mpmath.isfinite(r.nu) and r.nu > 0):
            raise ArithmeticError("Newton's method left the domain (nu <= 0)")
        x, y = mpf_to_arb(r.mu), mpf_to_arb(r.nu)

    def f(u: arb, w: arb) -> tuple[arb, arb]:
        q = gaussian_quantities(act, u, omega_b, w, tau_b, ("mean", "variance"))
        return q["mean"] - u, q["variance"] - w

    def jac(u: arb, w: arb) -> list[list[arb]]:
        q = gaussian_quantities(act, u, omega_b, w, tau_b, ("H11", "H12", "H21", "H22"))
        return [[q["H11"] - 1, q["H12"]], [q["H21"], q["H22"] - 1]]

    radius = arb(2) ** (-(ctx.prec // 2))
    for _ in range(5):
        result = krawczyk(f, jac, (x + arb(0, radius), y + arb(0, radius)))
        if result.proved:
            return FixedPoint(*result.enclosure, True)
        radius *= 2**6
    return FixedPoint(x, y, False)


@dataclass
class AffineResult:
    """c, d with (μ*, ν*) a fixed point of g for f = c·g + d, weights (ω, τ)."""

    activation: Activation
    mean: Fraction
    variance: Fraction
    omega: Fraction
    tau: Fraction
    scale: arb
    shift: arb
    certified: bool
    precision_bits: int
    method: str
    seconds: float = 0.0
    base_moments: tuple[arb, arb] = field(default=(arb(0), arb(0)))

    def __repr__(self) -> str:
        digits = mpmath.libmp.prec_to_dps(self.precision_bits)
        return (f"AffineResult({self.activation.label()}, certified={self.certified}, "
                f"{self.precision_bits} bits: scale={self.scale.str(digits, radius=True)}, "
                f"shift={self.shift.str(digits, radius=True)})")


def solve_affine(act: Activation, mean: Fraction, variance: Fraction, omega: Fraction,
                 tau: Fraction) -> AffineResult:
    """Certified c > 0, d such that c·g + d has the fixed point (mean, variance) for (ω, τ)
    (see the module docstring), at the current precision."""
    if variance <= 0 or tau <= 0:
        raise InputError("the target variance and tau must be > 0")
    started = time.perf_counter()
    base = act.with_affine(Fraction(1), Fraction(0))
    m = ball(mean) * ball(omega)
    v = ball(variance) * ball(tau)
    P = gaussian_moments.moment_partials(base, m, v, order=0)
    m1, m2 = P.A[0], P.B[0]
    var_g = m2 - m1 * m1
    mu_b, nu_b = ball(mean), ball(variance)
    bits = ctx.prec
    if not var_g > 0:
        return AffineResult(act, mean, variance, omega, tau, arb(0), arb(0), False, bits,
                            "Var[g] not proven > 0", time.perf_counter() - started, (m1, m2))
    c0 = (nu_b / var_g).sqrt()
    d0 = mu_b - c0 * m1

    def f(c: arb, d: arb) -> tuple[arb, arb]:
        return c * m1 + d - mu_b, c * c * var_g - nu_b

    def jac(c: arb, d: arb) -> list[list[arb]]:
        return [[m1, arb(1)], [2 * c * var_g, arb(0)]]

    radius = max(c0.rad(), d0.rad(), arb(2) ** (-(bits - 10))) * 8
    for _ in range(6):
        box = (arb(c0.mid()) + arb(0, radius), arb(d0.mid()) + arb(0, radius))
        result = krawczyk(f, jac, box)
        if result.proved:
            return AffineResult(act, mean, variance, omega, tau, *result.enclosure, True, bits,
                                "closed form c = sqrt(nu*/Var g), d = mu* - c E[g]; Krawczyk "
                                "test on (c E[g] + d - mu*, c^2 Var[g] - nu*)",
                                time.perf_counter() - started, (m1, m2))
        radius *= 16
    return AffineResult(act, mean, variance, omega, tau, c0, d0, False, bits,
                        "Krawczyk test failed", time.perf_counter() - started, (m1, m2))


#: Largest accepted ``digits`` of :func:`solve_affine_target`.
MAX_AFFINE_DIGITS = 300


def solve_affine_target(act: Activation, mean: Any = "0", variance: Any = "1", omega: Any = "0",
                        tau: Any = "1", *, digits: int = 50) -> AffineResult:
    """:func:`solve_affine` for a target given as exact numbers (decimal strings recommended),
    at ``digits`` + 10 decimal digits of working precision (``digits`` in 1..300).  Raises
    :class:`InputError` for bad input (including an activation that already has a scale or
    a shift: those are the unknowns) and :class:`ArithmeticError` if an integral fails."""
    if isinstance(digits, bool) or not isinstance(digits, int) \
            or not 1 <= digits <= MAX_AFFINE_DIGITS:
        raise InputError(f"--digits must be in 1..{MAX_AFFINE_DIGITS} with --activation "
                         f"(got {digits})")
    if act.scale != 1 or act.shift != 0:
        raise InputError("the scale and shift are what solve-constants solves for; give the "
                         "activation without them")
    target = [parse_exact(t, f"--{n}", ratio=False) for n, t in (
        ("mean", mean), ("variance", variance), ("omega", omega), ("tau", tau))]
    if target[1] <= 0:
        raise InputError(f"--variance must be > 0 (got {variance})")
    if target[3] <= 0:
        raise InputError(f"--tau must be > 0 (got {tau})")
    with working_precision(digits=digits + 10):
        return solve_affine(act, *target)


def to_mpf(x: arb) -> mpmath.mpf:
    """Midpoint as mpmath (for point-value output)."""
    return arb_to_mpf(x)
