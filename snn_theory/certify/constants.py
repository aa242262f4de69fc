"""Certified SELU constants λ, α for any target fixed point (docs/mathematics.md §3).

Given a target fixed point (μ*, ν*) and weights (ω, τ), find λ > 0, α > 0 with

    F(λ, α) = ( μ̃(μ*, ω, ν*, τ, λ, α) − μ*,  ν̃(μ*, ω, ν*, τ, λ, α) − ν* ) = 0

and *prove* it: a Krawczyk test (:mod:`snn_theory.evaluate.krawczyk`, docs/mathematics.md §7) in arb ball
arithmetic shows that a box of radius below 10^-digits around the computed point holds exactly
one root of F.  The formulas are those of :mod:`snn_theory.derive.formulas`, evaluated through
:func:`snn_theory.evaluate.backends.evaluator` (mpmath for root finding, ``arb`` for F at the box
centre, ``dual`` — forward-mode differentiation over arb — for F′ over the whole box).

Pipeline (:func:`solve_constants`):

1. **Starting point / feasibility.**  μ̃ is λ times an affine function of α and ξ̃ is λ² times
   a quadratic in α (docs/mathematics.md §1; ``tests/test_constants.py`` checks this on the sympy
   expressions).  Write μ̃ = λ·P(α), ξ̃ = λ²·S(α), V = S − P².  Eliminating λ = √(ν*/V(α))
   leaves (ν* + μ*²)·P(α)² − μ*²·S(α) = 0 — a quadratic in α — together with the sign
   condition sign P(α) = sign μ*.  Its coefficients are read off the evaluator at α = −1, 0, 1
   (no formula is written twice) in arb, so "no root with α > 0 of the right sign" is decided
   rigorously; if it cannot be decided the precision is raised, and Newton from a few starting
   points (λ01, α01 among them) is tried as well.  Exit code 2 from the CLI if infeasible.
2. **Root polishing.**  ``mpmath.findroot`` (Newton, analytic Jacobian from the dual
   evaluator) on a precision ladder 64, 128, … bits up to the working precision or
   :data:`MPMATH_MAX_BITS`; above that (10 000 digits) Newton steps continue in arb with
   midpoints, which is far faster than mpmath's erfc at that size.  How the centre was found
   does not matter for the proof.
3. **Proof.**  Krawczyk on a box of radius ≈ 2^-(working bits − 30) around the centre; if it
   fails the box is widened (never beyond 10^-digits/16) and then the precision raised; if all
   fail the result is returned with ``certified = False``.
4. For the default target (0, 1, ω = 0, τ = 1) the closed forms of λ01, α01 are evaluated in
   arb as well and must intersect the certified enclosures (``closed_form_agrees``).
5. **Alpha dropout** (docs/mathematics.md §3) for each drop rate R (keep probability q = 1 − R):
   α′ = −λα, a = √(ν/(q((1−q)(α′−μ)² + ν))), b = μ − a(qμ + (1−q)α′), as arb balls
   computed from the certified enclosures of λ, α (so they enclose the exact values).

Guarantee of a certified :class:`ConstantsResult`: the true λ, α (the unique root of F in the
proved box) lie in ``lam`` and ``alpha``, each of radius < 10^-digits/16; the decimal
``lower``/``upper`` strings are outward-rounded bounds, ``value`` is the ball midpoint rounded
to ``digits`` decimal places (so |value − true| < 10^-digits).  Every derived quantity
(α′, a, b) is a ball containing its exact value, with radius < 10^-digits/4.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
from flint import arb, fmpq

from snn_theory.certify.constants_result import ConstantsResult, DropoutConstants
from snn_theory.errors import InputError, NumericalFailure
from snn_theory.evaluate import backends
from snn_theory.evaluate.activation_map import AffineResult, solve_affine_target
from snn_theory.evaluate.dual import Dual, arb_sqrt
from snn_theory.evaluate.krawczyk import krawczyk
from snn_theory.evaluate.model import ModelSpec, resolve
from snn_theory.evaluate.moment_map import arb_to_mpf, mpf_to_arb
from snn_theory.exact import format_fraction, nearest_float, parse_exact
from snn_theory.precision import digits_to_bits, working_precision

#: Largest --digits accepted (measured: 10 000 digits ≈ 2 s, 30 000 ≈ 20 s on one core;
#: the cost grows about like digits^2, so the cap is about a minute).
MAX_DIGITS = 50_000
#: Above this precision root polishing continues in arb (mpmath's erfc is slow there).
MPMATH_MAX_BITS = 5_000
#: Internal floor on the number of digits (float64 output needs ~17 correct digits).
MIN_INTERNAL_DIGITS = 40

_MOMENTS = ("mean", "variance")


class InfeasibleTarget(InputError):
    """No λ > 0, α > 0 make the target a fixed point (CLI: one line, exit 2)."""


class SolverFailure(NumericalFailure):
    """The numerical solver broke down for this target (CLI: one line, exit 4)."""


# --------------------------------------------------------------------------- exact inputs
def _arb(x: Fraction) -> arb:
    """Enclosure of the rational x at the current arb precision (exact when dyadic)."""
    return arb(fmpq(x.numerator, x.denominator))


def _mpf(x: Fraction) -> mpmath.mpf:
    return mpmath.mpf(x.numerator) / x.denominator


# --------------------------------------------------------------------------- F and F′
def _moments_arb(args: Sequence[arb], lam: Any, alpha: Any) -> tuple[Any, Any]:
    mu, omega, nu, tau = args
    return backends.evaluator("arb", _MOMENTS)(mu, omega, nu, tau, lam, alpha)


def _residual_arb(args: Sequence[arb]) -> Callable[[arb, arb], tuple[arb, arb]]:
    """F(λ, α) in arb: an enclosure of F at every point of the balls (λ, α)."""
    mu, _, nu, _ = args

    def f(lam: arb, alpha: arb) -> tuple[arb, arb]:
        mean, var = _moments_arb(args, lam, alpha)
        return mean - mu, var - nu

    return f


def _jacobian_dual(args: Sequence[arb]) -> Callable[[arb, arb], list[list[arb]]]:
    """∂F/∂(λ, α) enclosed over the whole box (λ, α) by forward mode over arb."""
    mu, omega, nu, tau = args
    ev = backends.evaluator("dual", _MOMENTS)

    def jac(lam: arb, alpha: arb) -> list[list[arb]]:
        dl, da = Dual.variables([lam, alpha])
        mean, var = ev(mu, omega, nu, tau, dl, da)
        return [[mean.grad[0], mean.grad[1]], [var.grad[0], var.grad[1]]]

    return jac


# --------------------------------------------------------------------------- feasibility
@dataclass(frozen=True)
class _Candidate:
    lam: float
    alpha: float
    proved: bool  # the root is proved to exist with α > 0 and the right sign


def _reduced_candidates(target: tuple[Fraction, ...], bits: int) -> tuple[list[_Candidate], bool]:
    """Roots of the reduced quadratic (module docstring, step 1) in arb at ``bits``.

    Returns (candidates that are valid or undecided, decided) where ``decided`` says every
    root was classified rigorously (so an empty list proves infeasibility).
    """
    mu_q, _, nu_q, _ = target
    with working_precision(bits=bits):
        args = [_arb(x) for x in target]
        ev = backends.evaluator("arb", ("mean", "second_moment"))
        p0, s0 = ev(*args, arb(1), arb(0))
        p1, s1 = ev(*args, arb(1), arb(1))
        _, sm = ev(*args, arb(1), arb(-1))
        a_, b_ = p0, p1 - p0  # P(α) = A + Bα
        c_, l_, k_ = s0, (s1 - sm) / 2, (s1 + sm) / 2 - s0  # S(α) = C + Lα + Kα²
        mu, nu = args[0], args[2]
        if mu_q == 0:
            if not (b_ < 0 or b_ > 0):
                return [], False
            roots = [-a_ / b_]
        else:
            w = nu + mu * mu
            c2 = w * b_ * b_ - mu * mu * k_
            c1 = 2 * w * a_ * b_ - mu * mu * l_
            c0 = w * a_ * a_ - mu * mu * c_
            if not (c2 < 0 or c2 > 0):
                return [], False
            disc = c1 * c1 - 4 * c2 * c0
            if disc < 0:
                return [], True
            if not disc > 0 and not disc.contains(0):
                return [], False
            sq = arb_sqrt(disc)
            roots = [(-c1 - sq) / (2 * c2), (-c1 + sq) / (2 * c2)]
        found: list[_Candidate] = []
        decided = True
        for alpha in roots:
            if not alpha.is_finite():
                decided = False
                continue
            p = a_ + b_ * alpha
            v = c_ + l_ * alpha + k_ * alpha * alpha - p * p
            sign_ok_proved = (mu_q == 0) or (p * mu > 0)
            sign_bad = (mu_q != 0) and (p * mu < 0)
            if alpha < 0 or sign_bad or v < 0:
                continue  # proved invalid
            proved = bool(alpha > 0 and sign_ok_proved and v > 0)
            decided = decided and proved
            vm, am = arb_to_mpf(v), arb_to_mpf(alpha)
            if vm <= 0 or am <= 0:
                continue  # undecided, and no usable starting point
            lam = mpmath.sqrt(_mpf(nu_q) / vm)
            found.append(_Candidate(float(lam), float(am), proved))
        # the two roots of the squared equation can coincide (double root): keep one
        unique: list[_Candidate] = []
        for cand in found:
            if all(abs(cand.alpha - u.alpha) > 1e-12 * (1 + abs(u.alpha)) for u in unique):
                unique.append(cand)
        return unique, decided


def _ratio_limits(target: tuple[Fraction, ...]) -> tuple[float, float]:
    """mean/√variance of the SELU output at λ = 1 for α → 0⁺ and α → ∞ (for messages)."""
    with working_precision(digits=30):
        ev = backends.evaluator("mpmath", ("mean", "second_moment"))
        args = [_mpf(x) for x in target]
        p0, s0 = ev(*args, 1, 0)
        p1, s1 = ev(*args, 1, 1)
        _, sm = ev(*args, 1, -1)
        b, k = p1 - p0, (s1 + sm) / 2 - s0
        r0 = p0 / mpmath.sqrt(s0 - p0 * p0) if s0 > p0 * p0 else mpmath.nan
        rinf = b / mpmath.sqrt(k - b * b) if k > b * b else mpmath.nan
        return float(r0), float(rinf)


def _infeasible_message(target: tuple[Fraction, ...], decided: bool) -> str:
    mu, om, nu, tau = target
    rho = float(mu) / math.sqrt(float(nu))
    try:
        r0, rinf = _ratio_limits(target)
        limits = (f"; for these weights and target the SELU output (λ = 1) has "
                  f"mean/√variance {r0:.6g} as α → 0⁺ and {rinf:.6g} as α → ∞")
    except (ArithmeticError, ValueError):  # pragma: no cover - message detail only
        limits = ""
    head = (f"no λ > 0, α > 0 make (mean, variance) = ({_fmt(mu)}, {_fmt(nu)}) a fixed point "
            f"for weights (omega, tau) = ({_fmt(om)}, {_fmt(tau)}): it needs "
            f"mean/√variance = {rho:.6g} after the layer")
    if decided:
        return (head + ", and the system, reduced exactly to a quadratic in α, has no root "
                "α > 0 giving that sign (decided in ball arithmetic)" + limits)
    return (head + "; the reduction to a quadratic in α could not be decided at up to 2176 "
            "bits and Newton (mpmath.findroot) from 6 starting points, (λ01, α01) among them, "
            "found no root" + limits)


def _newton_search(target: tuple[Fraction, ...]) -> list[_Candidate]:
    """Fallback: mpmath.findroot from a few starting points at 30 digits."""
    starts = [(1.0507009873554805, 1.6732632423543772), (1.0, 1.0), (1.0, 0.5), (1.0, 3.0),
              (2.0, 2.0), (0.5, 1.0)]
    found: list[_Candidate] = []
    with working_precision(digits=30):
        f, jac = _mp_system(target)
        for start in starts:
            try:
                lam, alpha = mpmath.findroot(f, start, J=jac, verify=False)
            except (ZeroDivisionError, ValueError, ArithmeticError):
                continue
            res = f(lam, alpha)
            if (lam > 0 and alpha > 0 and mpmath.isfinite(lam) and mpmath.isfinite(alpha)
                    and max(abs(res[0]), abs(res[1])) < mpmath.mpf(10) ** -20):
                found.append(_Candidate(float(lam), float(alpha), False))
    return found


# --------------------------------------------------------------------------- polishing
def _mp_system(target: tuple[Fraction, ...]) -> tuple[Callable[..., list], Callable[..., list]]:
    """F in mpmath and its Jacobian (from the dual evaluator at the point) at the current
    working precision (mpmath's and arb's are set together by working_precision)."""
    mu, omega, nu, tau = (_mpf(x) for x in target)
    ev = backends.evaluator("mpmath", _MOMENTS)
    args_arb = [_arb(x) for x in target]
    jac_d = _jacobian_dual(args_arb)

    def f(lam: Any, alpha: Any) -> list:
        mean, var = ev(mu, omega, nu, tau, lam, alpha)
        return [mean - mu, var - nu]

    def jac(lam: Any, alpha: Any) -> list:
        j = jac_d(mpf_to_arb(lam), mpf_to_arb(alpha))
        return [[arb_to_mpf(j[i][k]) for k in range(2)] for i in range(2)]

    return f, jac


def _polish(target: tuple[Fraction, ...], start: tuple[float, float], bits: int) -> tuple[
        mpmath.mpf, mpmath.mpf]:
    """Newton to ``bits`` bits on a doubling precision ladder (module docstring, step 2)."""
    lam, alpha = mpmath.mpf(start[0]), mpmath.mpf(start[1])
    prec = 64
    while True:
        prec = min(2 * prec, bits)
        with working_precision(bits=prec + 10):
            if prec <= MPMATH_MAX_BITS:
                f, jac = _mp_system(target)
                lam, alpha = mpmath.findroot(f, (lam, alpha), J=jac, verify=False)
            else:
                lam, alpha = _arb_newton(target, lam, alpha, steps=2 if prec == bits else 1)
        if prec >= bits:
            return lam, alpha


def _arb_newton(target: tuple[Fraction, ...], lam: Any, alpha: Any, steps: int) -> tuple[
        mpmath.mpf, mpmath.mpf]:
    """Newton steps with arb arithmetic, keeping midpoints (a fast multiprecision float)."""
    args = [_arb(x) for x in target]
    f, jac = _residual_arb(args), _jacobian_dual(args)
    x, y = mpf_to_arb(lam), mpf_to_arb(alpha)
    for _ in range(steps):
        f0, f1 = f(x, y)
        (a, b), (c, d) = jac(x, y)
        det = a * d - b * c
        x, y = (arb((x - (d * f0 - b * f1) / det).mid()),
                arb((y - (-c * f0 + a * f1) / det).mid()))
    return arb_to_mpf(x), arb_to_mpf(y)


# --------------------------------------------------------------------------- main entry
def _validate(digits: Any, target: Sequence[Fraction], rates: Sequence[Fraction],
              rate_texts: Sequence[str]) -> int:
    try:
        d = int(digits)
    except (TypeError, ValueError):
        raise InputError(f"digits must be an integer (got {digits!r})") from None
    if d != digits and not isinstance(digits, str):
        raise InputError(f"digits must be an integer (got {digits!r})")
    if d < 1 or d > MAX_DIGITS:
        raise InputError(f"digits must be between 1 and {MAX_DIGITS} (got {d})")
    if target[2] <= 0:
        raise InputError(f"variance must be > 0 (got {target[2]})")
    if target[3] <= 0:
        raise InputError(f"tau must be > 0 (got {target[3]})")
    for r, text in zip(rates, rate_texts):
        if not 0 <= r < 1:
            raise InputError(f"dropout rate must be in [0, 1) (got {text}); it is the "
                             "probability "
                             "of dropping a unit, the keep probability is 1 − rate")
    return d


def _fmt(x: Fraction) -> str:
    """A user's exact input, exactly as the number it is (never rounded)."""
    return format_fraction(x)


def solve_constants(
    mean: Any = "0",
    variance: Any = "1",
    omega: Any = "0",
    tau: Any = "1",
    digits: int = 50,
    dropout_rates: Iterable[Any] = (),
    *,
    activation: ModelSpec = "selu",
) -> ConstantsResult | AffineResult:
    """Certified constants making (mean, variance) a fixed point of g for weights (ω, τ):
    SELU's λ, α, or for any other ``activation`` (a name, an expression in x, an
    :class:`~snn_theory.derive.activations.Activation` or a moment model) the scale c and
    shift d of c·f(x) + d (:func:`snn_theory.evaluate.activation_map.solve_affine_target`,
    an :class:`~snn_theory.evaluate.activation_map.AffineResult`, ``digits`` ≤ 300).

    Inputs are exact numbers (decimal strings recommended: ``"-0.1"`` is exactly −1/10).
    Raises :class:`InputError` for bad input and :class:`InfeasibleTarget` when no λ > 0,
    α > 0 exist.  See the module docstring for the method and the guarantee; check
    ``result.certified`` before using the numbers.

    >>> r = solve_constants(digits=20)
    >>> r.certified, r.lam.str(20, radius=False)
    (True, '1.0507009873554804934')
    >>> r = solve_constants(activation="tanh", digits=10)
    >>> r.certified, r.scale.str(10, radius=False), r.shift.contains(0)
    (True, '1.592537420', True)
    """
    model = resolve(activation)
    if not model.closed_form:
        rates = tuple(dropout_rates)
        if rates:
            shown = activation if isinstance(activation, str) else model.label
            raise InputError("--dropout-rate is alpha dropout for SELU; it does not apply to "
                             "--activation " + shown)
        return solve_affine_target(model.activation, mean, variance, omega, tau,
                                   digits=digits)
    t_start = time.perf_counter()
    names = ("mean", "variance", "omega", "tau")
    texts = [str(x) for x in (mean, variance, omega, tau)]
    mu_q, nu_q, om_q, tau_q = (parse_exact(x, n, ratio=False)
                               for n, x in zip(names, (mean, variance, omega, tau)))
    target = (mu_q, om_q, nu_q, tau_q)  # the evaluator's argument order (μ, ω, ν, τ)
    rate_texts = [str(r) for r in dropout_rates]
    rates = [parse_exact(r, "dropout rate", ratio=False) for r in rate_texts]
    d = _validate(digits, target, rates, rate_texts)
    try:
        return _solve(target, texts, d, rate_texts, rates, t_start)
    except InputError:
        raise
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise SolverFailure(
            f"the solver failed for (mean, variance) = ({_fmt(mu_q)}, {_fmt(nu_q)}), "
            f"(omega, tau) = ({_fmt(om_q)}, {_fmt(tau_q)}): {type(exc).__name__}: {exc} "
            "(tried: reduction to a quadratic in α, mpmath.findroot, arb Newton)") from exc


def _solve(target: tuple[Fraction, ...], texts: list[str], d: int, rate_texts: list[str],
           rates: list[Fraction], t_start: float) -> ConstantsResult:
    mu_q, om_q, nu_q, tau_q = target
    internal = max(d, MIN_INTERNAL_DIGITS) + 10
    bits = digits_to_bits(internal) + 40
    method = []

    # 1. starting point and feasibility
    candidates, decided = [], False
    for extra in (0, 128, 512, 2048):
        candidates, decided = _reduced_candidates(target, 128 + extra)
        if candidates or decided:
            break
    method.append("reduced quadratic in α (arb)")
    if not candidates:
        candidates = _newton_search(target)
        method.append("mpmath.findroot from 6 starting points")
    if not candidates:
        raise InfeasibleTarget(_infeasible_message(target, decided))
    candidates.sort(key=lambda c: (not c.proved, c.alpha))
    best, others = candidates[0], candidates[1:]

    # 2.–5. polish, prove, derived quantities; raise the precision if anything falls short
    limit_exp = math.ceil(d * math.log2(10)) + 4  # box radius ≤ 2^-limit_exp < 10^-d/16
    lam_b, alpha_b, failure = arb(best.lam), arb(best.alpha), ""
    for attempt in range(3):
        if attempt:
            bits += 64 * 4**attempt  # +256, then +1024 bits
        lam_c, alpha_c = _polish(target, (best.lam, best.alpha), bits)
        proof = _prove(target, (lam_c, alpha_c), bits, limit_exp)
        if proof is None:
            lam_b, alpha_b = mpf_to_arb(lam_c), mpf_to_arb(alpha_c)
            failure = (f"the Krawczyk test could not prove a solution box of radius between "
                       f"2^-{bits - 30} and 2^-{limit_exp} (last try at {bits} bits)")
            continue
        (lam_b, alpha_b), radius_log2 = proof
        derived = _derived(target, lam_b, alpha_b, rates, rate_texts, d, bits)
        if derived.too_wide:
            failure = (f"the enclosure of {derived.too_wide[0]} is wider than 10^-{d}/4 "
                       f"at {bits} bits")
            continue
        if derived.straddling and attempt < 2:
            continue  # a float64 rounding boundary inside a ball: more precision
        method.append(f"mpmath.findroot/arb Newton to {bits} bits, Krawczyk test in arb")
        return ConstantsResult(
            *texts, digits=d, lam=lam_b, alpha=alpha_b, certified=True,
            alpha_prime=derived.alpha_prime, dropout=derived.dropout,
            closed_form_agrees=derived.closed, precision_bits=bits,
            box_radius_log2=radius_log2, method="; ".join(method),
            other_solutions=tuple((c.lam, c.alpha) for c in others),
            seconds=time.perf_counter() - t_start, floats=derived.floats,
        )
    method.append(f"mpmath.findroot/arb Newton up to {bits} bits, Krawczyk test in arb")
    return ConstantsResult(*texts, digits=d, lam=lam_b, alpha=alpha_b, certified=False,
                           precision_bits=bits, method="; ".join(method), failure=failure,
                           seconds=time.perf_counter() - t_start)


def _prove(target: tuple[Fraction, ...], centre_mp: tuple[Any, Any], bits: int,
           limit_exp: int) -> tuple[tuple[arb, arb], int] | None:
    """Krawczyk on boxes of radius 2^-(bits−30), 2^-(bits−46), 2^-(bits−94), halfway to and
    at 2^-limit_exp around the centre; ((λ, α) enclosures, log2 of the box radius) or None."""
    with working_precision(bits=bits):
        args = [_arb(x) for x in target]
        f, jac = _residual_arb(args), _jacobian_dual(args)
        centre = (mpf_to_arb(centre_mp[0]), mpf_to_arb(centre_mp[1]))
        top = bits - 30
        for exp in sorted({top, top - 16, top - 64, (top + limit_exp) // 2, limit_exp},
                          reverse=True):
            if exp < limit_exp:
                continue
            rad = arb(2) ** (-exp)
            result = krawczyk(f, jac, (centre[0] + arb(0, rad), centre[1] + arb(0, rad)))
            if result.proved:
                return result.enclosure, -exp
    return None


@dataclass(frozen=True)
class _Derived:
    closed: bool | None
    alpha_prime: arb
    dropout: tuple[DropoutConstants, ...]
    floats: dict[str, float]
    too_wide: list[str]
    straddling: list[str]


def _derived(target: tuple[Fraction, ...], lam_b: arb, alpha_b: arb, rates: list[Fraction],
             rate_texts: list[str], d: int, bits: int) -> _Derived:
    """Closed-form check, α′, alpha dropout (docs/mathematics.md §3) and float64 values, at ``bits``."""
    with working_precision(bits=bits):
        closed = None
        if target == (0, 0, 1, 1):  # (μ, ω, ν, τ) of docs/mathematics.md §3
            cl, ca = backends.constants_function("arb")()
            closed = bool(lam_b.overlaps(cl) and alpha_b.overlaps(ca))
        mu, nu = _arb(target[0]), _arb(target[2])
        alpha_prime = -(lam_b * alpha_b)  # dropped units are set to α′ = −λα
        dropout = backends.alpha_dropout_function("arb")
        drop = []
        for text, rate in zip(rate_texts, rates):
            q = _arb(1 - rate)  # keep probability
            _, a, b = dropout(q, mu, nu, lam_b, alpha_b)
            drop.append(DropoutConstants(text, 1 - rate, alpha_prime, a, b))
        balls = {"lambda": lam_b, "alpha": alpha_b, "alpha_prime": alpha_prime}
        for dc in drop:
            for k in ("alpha_prime", "a", "b"):
                balls[f"dropout[{dc.rate}].{k}"] = getattr(dc, k)
        floats: dict[str, float] = {}
        too_wide, straddling = [], []
        bound = arb(10) ** (-d) / 4
        for key, ball in balls.items():
            if not (ball.is_finite() and ball.rad() < bound):
                too_wide.append(key)
            fl = nearest_float(ball) if ball.is_finite() else None
            if fl is None:
                straddling.append(key)
            else:
                floats[key] = fl
    return _Derived(closed, alpha_prime, tuple(drop), floats, too_wide, straddling)


__all__ = ["InfeasibleTarget", "MAX_DIGITS", "SolverFailure", "solve_constants"]
