"""SELU's closed-form mean/variance map g and its Jacobian in any number system, and the one
Newton loop for fixed points (the public, keyword-only API over every activation is
:mod:`snn_theory.evaluate.model`, whose :class:`~snn_theory.evaluate.model.ClosedFormModel`
wraps this module).

    >>> from snn_theory.evaluate.moment_map import closed_form_moments
    >>> round(float(closed_form_moments(0.0, 0.0, 1.0, 1.0, backend="numpy").variance), 12)
    1.0

Arguments are always ``(mu, omega, nu, tau)`` — input mean, weight sum, input variance,
weight sum of squares (docs/mathematics.md §1) — then ``lam, alpha`` (default λ01, α01, computed from
their closed forms in the chosen number system) and ``backend``:

* ``"mpmath"`` (default): working precision from :func:`snn_theory.working_precision`;
* ``"arb"``: balls, guaranteed to contain the exact value (inputs may be balls: then the
  result contains the value at every point of the input box);
* ``"numpy"``: float64, arrays broadcast;
* ``"jax"``: jit/vmap/grad compatible, float32 unless ``jax_enable_x64``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

import mpmath
import numpy as np
from flint import arb, fmpq

from snn_theory.derive import formulas
from snn_theory.errors import InputError, NumericalFailure
from snn_theory.evaluate import backends
from snn_theory.evaluate.krawczyk import krawczyk

Number = Any


class Moments(NamedTuple):
    mean: Number
    second_moment: Number
    variance: Number


def to_number(x: Any, backend: str) -> Number:
    """Convert a user value (str, int, float, or a backend number) to ``backend``.

    Decimal strings stay exact where the backend allows: mpmath rounds them once at the
    working precision, arb encloses them in a ball.  For arb, ints, Fractions and mpmath
    numbers are exact, and a float means its exact binary value (not its decimal repr).
    """
    if backend == "mpmath":
        return x if isinstance(x, mpmath.mpf) else mpmath.mpf(x)
    if backend == "arb":
        if isinstance(x, arb):
            return x
        if isinstance(x, str | int):
            return arb(x)  # a decimal string is enclosed, an int is exact
        if isinstance(x, Fraction):
            return arb(fmpq(x.numerator, x.denominator))
        if isinstance(x, mpmath.mpf):
            return mpf_to_arb(x)
        if isinstance(x, float | np.floating):
            return arb(float(x))  # the exact binary value of the float
        raise InputError(f"cannot convert {type(x).__name__} {x!r} to an arb ball")
    if backend == "numpy":
        return np.asarray(x, dtype=np.float64) if not isinstance(x, str) else np.float64(x)
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(float(x) if isinstance(x, str) else x)
    if backend == "dual":
        return x
    raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(backends.BACKENDS)}")


def default_constants(backend: str = "mpmath") -> tuple[Number, Number]:
    """(λ01, α01) from their closed forms (docs/mathematics.md §3) in ``backend`` at the current precision."""
    if backend in ("numpy", "jax"):
        return _float_constants()
    return backends.constants_function("arb" if backend == "dual" else backend)()


def _float_constants() -> tuple[float, float]:
    with mpmath.workprec(80):
        lam, alpha = backends.constants_function("mpmath")()
        return float(lam), float(alpha)


def check_scalar(name: str, value: Any, positive: bool = False) -> None:
    """:class:`InputError` naming ``name`` unless ``value`` is a finite number (> 0 where
    ``positive``); decimal strings are checked exactly, traced JAX values not at all."""
    try:
        if isinstance(value, arb):
            ok = value.is_finite()
            if positive and ok and not value > 0:
                raise InputError(f"{name} must be > 0 (got {value})")
            if not ok:
                raise InputError(f"{name} must be finite (got {value})")
            return
        if isinstance(value, str):
            # decimal strings are checked exactly (a float64 conversion would call 1e400
            # infinite and 1e-400 zero, although mpmath and arb represent both)
            x = mpmath.mpf(value.strip())
        elif isinstance(value, mpmath.mpf):
            x = value
        else:
            x = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{name} must be a number (got {value!r})") from None
    if isinstance(x, mpmath.mpf):
        finite, pos = mpmath.isfinite(x), x > 0
    else:
        try:
            finite, pos = bool(np.all(np.isfinite(x))), bool(np.all(x > 0))
        except Exception:  # traced JAX values cannot be checked: leave them alone
            return
    if not finite:
        raise InputError(f"{name} must be finite (got {value})")
    if positive and not pos:
        raise InputError(f"{name} must be > 0 (got {value})")


def closed_form_quantities(
    mu: Any,
    omega: Any,
    nu: Any,
    tau: Any,
    lam: Any = None,
    alpha: Any = None,
    *,
    backend: str = "mpmath",
    quantities: tuple[str, ...] = formulas.QUANTITIES,
    check: bool = True,
) -> dict[str, Number]:
    """Every requested quantity of :data:`snn_theory.derive.formulas.QUANTITIES` at one point/box.

    Names: mean, second_moment, variance, variance_change (= variance − ν), J11..J22,
    H11..H22, spectral_norm.
    """
    if backend not in backends.BACKENDS and backend != "dual":
        raise InputError(
            f"unknown backend {backend!r}; choose one of {', '.join(backends.BACKENDS)}"
        )
    if check and backend not in ("jax", "dual"):
        for name, value, pos in (("mu", mu, False), ("omega", omega, False), ("nu", nu, True),
                                 ("tau", tau, True)):
            check_scalar(name, value, pos)
    if lam is None or alpha is None:
        dl, da = default_constants(backend)
        lam = dl if lam is None else lam
        alpha = da if alpha is None else alpha
    if check and backend not in ("jax", "dual"):
        check_scalar("lam", lam, True)
        check_scalar("alpha", alpha, True)
    args = [to_number(x, backend) for x in (mu, omega, nu, tau, lam, alpha)]
    values = backends.evaluator(backend, tuple(quantities))(*args)
    return dict(zip(quantities, values))


@dataclass(frozen=True)
class CheckedValues:
    """mpmath values with a stated number of correct digits (:func:`evaluate_digits`)."""

    values: dict[str, Number]  # mpmath numbers at ``bits`` of working precision
    digits: int  # significant digits each value has (relative to its arb enclosure)
    bits: int  # the working precision that was needed
    balls: dict[str, arb]  # the arb enclosures at ``bits`` that vouch for the digits

    @property
    def unresolved(self) -> tuple[str, ...]:
        """Quantities known only to within ±2^(−bits/2) of 0 (no digit of them is correct
        if they are not exactly 0: e.g. differences of ~1e19 terms equal to e^(−r²))."""
        return tuple(q for q, ball in self.balls.items() if ball.contains(0))


#: ``evaluate_digits`` doubles the working precision at most this many times.
MAX_PRECISION_DOUBLINGS = 8


def evaluate_digits(mu: str, omega: str, nu: str, tau: str, lam: str | None = None,
                    alpha: str | None = None, *, digits: int,
                    quantities: tuple[str, ...] = formulas.QUANTITIES) -> CheckedValues:
    """mpmath values of ``quantities`` with ``digits`` correct significant digits.

    The working precision follows the inputs: the same formulas are evaluated in arb balls
    at the mpmath precision, and the precision is doubled until every ball determines
    ``digits`` digits (relative radius ≤ 10^−digits; a ball around 0 narrower than
    2^(−bits/2) counts as an exact zero) and contains the mpmath value.  Large |μω|/√(ντ)
    cancel about log10((μω)²/(ντ)) digits in ν̃ = ξ̃ − μ̃² and in H21, H22, so a fixed
    precision would print wrong digits there.  Raises :class:`ArithmeticError` if
    :data:`MAX_PRECISION_DOUBLINGS` doublings do not suffice.
    """
    from snn_theory.precision import digits_to_bits, working_precision

    bits = digits_to_bits(digits)
    tolerance = mpmath.mpf(10) ** (-digits)
    for _ in range(MAX_PRECISION_DOUBLINGS + 1):
        with working_precision(bits=bits):
            values = closed_form_quantities(mu, omega, nu, tau, lam, alpha, backend="mpmath",
                                            quantities=quantities)
            balls = closed_form_quantities(mu, omega, nu, tau, lam, alpha, backend="arb",
                                           quantities=quantities)
            if all(_determines(balls[q], values[q], tolerance, bits) for q in quantities):
                return CheckedValues(values, digits, bits, balls)
        bits *= 2
    raise ArithmeticError(f"{digits} correct digits not reached at {bits // 2} bits of "
                          "working precision (cancellation too strong)")


def _determines(ball: arb, value: Any, tolerance: Any, bits: int) -> bool:
    if not ball.is_finite() or not mpmath.isfinite(value):
        return False
    point = mpf_to_arb(value)
    if not ball.contains(point):
        return False
    rad = arb_to_mpf(ball.rad())
    mid = abs(arb_to_mpf(ball.mid()))
    if ball.contains(0):
        return rad <= mpmath.mpf(2) ** (-(bits // 2))
    return rad <= tolerance * (mid - rad)


def closed_form_moments(mu: Any, omega: Any, nu: Any, tau: Any, lam: Any = None,
                        alpha: Any = None, *,
            backend: str = "mpmath") -> Moments:
    """(μ̃, ξ̃, ν̃): mean, second moment and variance after one SELU layer (docs/mathematics.md §1)."""
    q = closed_form_quantities(mu, omega, nu, tau, lam, alpha, backend=backend,
                               quantities=("mean", "second_moment", "variance"))
    return Moments(q["mean"], q["second_moment"], q["variance"])


def closed_form_trajectory(mu: Any, omega: Any, nu: Any, tau: Any, *, steps: int = 10,
                           lam: Any = None, alpha: Any = None, backend: str = "mpmath"
                           ) -> list[tuple[Number, Number]]:
    """The trajectory (μ_k, ν_k), k = 0..steps, of g from (μ_0, ν_0) = (mu, nu), start first,
    for weights (ω, τ) = (omega, tau) (arguments in the one order (mu, omega, nu, tau)).

    Raises :class:`InputError` if an iterate leaves the domain (ν ≤ 0 or not finite).
    """
    if int(steps) != steps or steps < 0:
        raise InputError(f"steps must be a non-negative integer (got {steps!r})")
    if lam is None or alpha is None:
        dl, da = default_constants(backend)
        lam, alpha = (dl if lam is None else lam), (da if alpha is None else alpha)
    point = (to_number(mu, backend), to_number(nu, backend))
    trajectory = [point]
    for _ in range(int(steps)):
        q = closed_form_moments(point[0], omega, point[1], tau, lam, alpha, backend=backend)
        point = (q.mean, q.variance)
        trajectory.append(point)
    return trajectory


class NewtonResult(NamedTuple):
    """The last iterate of :func:`newton_fixed_point` and whether it converged (for array
    inputs: per entry; entries that left the domain ν > 0 are NaN and not converged)."""

    mu: Number
    nu: Number
    converged: Any  # bool, or a boolean array (numpy)
    iterations: int
    step: Any  # the size |Δμ| + |Δν| of the last Newton step
    left_domain: Any  # where the last iterate is not finite with ν > 0 (numpy; else False)


def newton_fixed_point(omega: Any, tau: Any, lam: Any = None, alpha: Any = None, *,
                       backend: str = "mpmath", start: tuple[Any, Any] = (0, 1),
                       max_iterations: int = 100,
                       tolerance: float | None = None,
                       evaluator: Callable[..., dict[str, Any]] | None = None) -> NewtonResult:
    """Newton's method on F(μ, ν) = g(μ, ν) − (μ, ν) for weights (ω, τ): the one Newton loop
    of the fixed point of g (docs/mathematics.md §1–2).

    Each step solves (H − I)·Δ = F with H the Jacobian of g (Cramer's rule) and sets
    (μ, ν) ← (μ, ν) − Δ, and stops once |Δμ| + |Δν| ≤ tol·(1 + |μ| + |ν|); ``tol``:
    ``tolerance``, or 16 ulp of the working precision (mpmath), 1e-15 (numpy), 16 ulp of
    the default float dtype (jax).  When ``max_iterations`` steps are spent without that, the
    iterate still counts as converged if the last step was small, |Δμ| + |Δν| ≤
    √tol·(1 + |μ| + |ν|), and changed ν by a relative |Δν|/ν ≤ √tol: an ill-conditioned
    H − I amplifies the rounding error of F above tol, and the steps then only wander
    within it, about as far as the last step (the relative test rejects iterates creeping
    towards the degenerate ν = 0).

    ``backend="numpy"`` is vectorised: ``omega``, ``tau`` and ``start`` may be arrays
    (broadcast); each entry stops on its own, an entry whose ν leaves ν > 0 becomes NaN and
    is not converged.  For mpmath and jax (scalars) leaving ν > 0 raises
    :class:`NumericalFailure`.  Never raises for non-convergence: see ``converged`` (and
    :func:`closed_form_fixed_point`, which does).  Float evidence, not proof.

    ``evaluator(mu, omega, nu, tau, names) -> {name: value}``: the map to solve, in
    ``backend``'s numbers (default: SELU's closed forms with ``lam``, ``alpha``); the moment
    models (:mod:`snn_theory.evaluate.model`) pass their own, so that every activation's
    fixed point is found by this one loop.
    """
    if backend not in ("mpmath", "numpy", "jax"):
        raise InputError(f"Newton's method runs in mpmath, numpy or jax (got {backend!r})")
    if int(max_iterations) != max_iterations or max_iterations < 1:
        raise InputError(f"max_iterations must be an integer >= 1 (got {max_iterations!r})")
    if evaluator is None:
        if lam is None or alpha is None:
            dl, da = default_constants(backend)
            lam, alpha = (dl if lam is None else lam), (da if alpha is None else alpha)

        def evaluator(mu: Any, om: Any, nu: Any, ta: Any, names: tuple[str, ...]
                      ) -> dict[str, Any]:
            return closed_form_quantities(mu, om, nu, ta, lam, alpha, backend=backend,
                                          quantities=names, check=False)
    vectorised = backend == "numpy"
    if vectorised:
        omega, tau, x, y = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (
            omega, tau, start[0], start[1])))
        x, y = x.copy(), y.copy()
        done = np.zeros(x.shape, bool)
    else:
        x, y = to_number(start[0], backend), to_number(start[1], backend)
        done = False
    if tolerance is not None:
        tol = tolerance
    elif backend == "mpmath":
        tol = mpmath.eps * 16
    elif backend == "numpy":
        tol = 1e-15
    else:
        import jax.numpy as jnp

        tol = float(jnp.finfo(jnp.asarray(0.0).dtype).eps) * 16
    names = ("mean", "variance", "H11", "H12", "H21", "H22")
    step, k = None, 0
    for k in range(1, max_iterations + 1):
        if vectorised:
            y_in = np.where(y > 0, y, np.nan)  # e.g. sqrt(ν·τ) would turn complex
        elif not y > 0:
            raise NumericalFailure(f"Newton's method for the fixed point of g left the domain "
                                   f"(nu = {y} <= 0 after {k - 1} steps from {start}); try "
                                   "another start")
        else:
            y_in = y
        q = evaluator(x, omega, y_in, tau, names)
        f0, f1 = q["mean"] - x, q["variance"] - y_in
        a, b, c, d = q["H11"] - 1, q["H12"], q["H21"], q["H22"] - 1
        det = a * d - b * c
        if not vectorised and det == 0:
            raise NumericalFailure("Newton's method for the fixed point of g met a singular "
                                   f"Jacobian (H − I) at (mu, nu) = ({x}, {y})")
        dx, dy = (d * f0 - b * f1) / det, (-c * f0 + a * f1) / det
        step = abs(dx) + abs(dy)
        scale = 1 + abs(x - dx) + abs(y - dy)
        small = step <= tol * scale
        if vectorised:
            x, y = np.where(done, x, x - dx), np.where(done, y, y_in - dy)
            done = done | (small & np.isfinite(x) & np.isfinite(y) & (y > 0))
            if done.all():
                break
        else:
            x, y = x - dx, y - dy
            if bool(small):
                done = True
                break
    else:  # every step spent: accept a last step at the rounding level
        settled = ((step <= tol**0.5 * (1 + abs(x) + abs(y)))
                   & (abs(dy) <= tol**0.5 * abs(y)))
        if vectorised:
            done = done | (settled & np.isfinite(x) & np.isfinite(y) & (y > 0))
        else:
            done = bool(settled) and y > 0
    if vectorised:
        inside = np.isfinite(x) & np.isfinite(y) & (y > 0)
        ok = done & inside
        mu, nu = np.where(ok, x, np.nan), np.where(ok, y, np.nan)
        if mu.ndim == 0:  # scalars in, scalars out
            return NewtonResult(mu[()], nu[()], bool(ok), k, step[()], not bool(inside))
        return NewtonResult(mu, nu, ok, k, step, ~inside)
    return NewtonResult(x, y, done, k, step, False)


def closed_form_fixed_point(omega: Any = 0, tau: Any = 1, lam: Any = None, alpha: Any = None, *,
                            backend: str = "mpmath", start: tuple[Any, Any] = (0, 1),
                            max_iterations: int = 100) -> tuple[Number, Number]:
    """The fixed point (μ*, ν*) of g for weights (ω, τ), by Newton's method on g(x) − x
    (:func:`newton_fixed_point`) from ``start``.

    Raises :class:`NumericalFailure` when Newton's method does not converge within
    ``max_iterations`` steps or leaves ν > 0 (mpmath, numpy, jax: nothing is returned then).
    ``backend="arb"`` returns balls *proved* (Krawczyk test) to contain the unique fixed
    point in a small box; :class:`ArithmeticError` if the proof fails (including when the
    float Newton start for it does not converge).
    """
    if backend == "arb":
        return _certified_fixed_point(omega, tau, lam, alpha, start, max_iterations)
    with np.errstate(all="ignore"):
        result = newton_fixed_point(omega, tau, lam, alpha, backend=backend, start=start,
                                    max_iterations=max_iterations)
    if not np.all(result.converged):
        left = bool(np.any(result.left_domain))
        raise NumericalFailure(
            f"Newton's method for the fixed point of g (omega = {omega}, tau = {tau}) "
            + ("left the domain nu > 0" if left else
               f"did not converge in {max_iterations} steps (last step {result.step})")
            + f" from start {start}; try another start")
    return result.mu, result.nu


def arb_to_mpf(z: arb) -> mpmath.mpf:
    """The exact midpoint of a ball as an mpmath number."""
    man, exp = z.mid().man_exp()
    return mpmath.mpf((int(man), int(exp)))


def mpf_to_arb(x: Any) -> arb:
    """An mpmath number as an exact arb point (exact at any arb precision)."""
    # mpf.man_exp drops the sign (the mantissa is unsigned); read it from _mpf_ instead
    sign, man, exp, _ = mpmath.mpf(x)._mpf_
    if not man and exp:  # inf / nan
        raise ValueError(f"cannot convert {x} to an arb point")
    return arb((-int(man) if sign else int(man), int(exp)))


def _certified_fixed_point(omega: Any, tau: Any, lam: Any, alpha: Any, start: tuple[Any, Any],
                           max_iterations: int) -> tuple[arb, arb]:
    from flint import ctx

    prec = ctx.prec
    if lam is None or alpha is None:
        dl, da = default_constants("arb")
        lam, alpha = (dl if lam is None else lam), (da if alpha is None else alpha)
    ball_args = [to_number(z, "arb") for z in (omega, tau, lam, alpha)]
    with mpmath.workprec(prec + 20):
        try:
            x0, y0 = closed_form_fixed_point(*(arb_to_mpf(z) for z in ball_args), backend="mpmath",
                                             start=start, max_iterations=max_iterations)
        except NumericalFailure as exc:  # no start for the proof: nothing is certified
            raise ArithmeticError(f"the fixed point could not be certified: {exc}") from exc
    omega_b, tau_b, lam_b, alpha_b = ball_args

    def f(x: arb, y: arb) -> tuple[arb, arb]:
        q = closed_form_quantities(x, omega_b, y, tau_b, lam_b, alpha_b, backend="arb",
                                   quantities=("mean", "variance"), check=False)
        return q["mean"] - x, q["variance"] - y

    def jac(x: arb, y: arb) -> list[list[arb]]:
        q = closed_form_quantities(x, omega_b, y, tau_b, lam_b, alpha_b, backend="arb",
                                   quantities=("H11", "H12", "H21", "H22"), check=False)
        return [[q["H11"] - 1, q["H12"]], [q["H21"], q["H22"] - 1]]

    center = (mpf_to_arb(x0), mpf_to_arb(y0))
    radius = arb(2) ** (-(prec // 2))
    for _ in range(6):
        result = krawczyk(f, jac, (center[0] + arb(0, radius), center[1] + arb(0, radius)))
        if result.proved:
            return result.enclosure
        radius *= 2**8
    raise ArithmeticError("Krawczyk test failed: the fixed point could not be certified")


__all__ = [
    "InputError", "Moments", "closed_form_quantities", "closed_form_moments",
    "closed_form_trajectory", "closed_form_fixed_point", "newton_fixed_point", "NewtonResult",
    "default_constants",
    "to_number", "evaluate_digits", "CheckedValues",
]

