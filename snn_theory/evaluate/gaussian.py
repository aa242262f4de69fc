"""Rigorous Gaussian expectations of any activation, valid over boxes in (m, v).

For an activation f = c·g + d (:mod:`snn_theory.derive.activations`) and x ~ N(m, v), with
s = √v and z = (x − m)/s, Gaussian integration by parts gives every partial derivative of a
Gaussian expectation without differentiating g (docs/mathematics.md §8 of the project notes; Stein's
lemma iterated):

    ∂ⁿ/∂mⁿ E[h(x)] = E[h(x)·Heₙ(z)] / sⁿ,        ∂/∂v E[h(x)] = ½·∂²/∂m² E[h(x)],

so ∂ᵢ_m ∂ʲ_v E[h] = E[h·He_{i+2j}(z)] / (s^{i+2j}·2ʲ), with Heₙ the probabilists' Hermite
polynomials (He₀ = 1, He₁ = z, Heₙ₊₁ = z·Heₙ − n·Heₙ₋₁).  For h = gᵖ (any power p ≥ 1):

    E[h(x)·Heₙ(z)] = ∫ h(x)·Heₙ((x − m)/s)·exp(−(x − m)²/(2v)) dx / (s√(2π)).

**Enclosure.**  The integral over a finite range [a, b] is computed by Arb's rigorous
integrator (python-flint ``acb.integral``) *in x*, with m and s as balls: the path is split at
the kinks of g (fixed exact points), each piece analytic around its interval; the result
contains the integral for every (m, v) in the balls.  python-flint drops Arb's
no-convergence flag, so at points the radius is checked here (and the computation repeated
with a larger work limit); a non-finite result raises :class:`ArithmeticError`.  The range is
a = m_lo − L·s_hi, b = m_hi + L·s_hi with L²/2 ≈ (precision in bits)·ln 2; beyond it the
integrand is bounded with the growth bound |g(x)| ≤ P(|x|) of the activation: with
x = m ± s·z, |x| ≤ |m| + s·z, so on each tail

    |∫ h·Heₙ·φ| ≤ Σ_j C_j·M_j(t₀),   M_j(t) = ∫_t^∞ z^j φ(z) dz,
    M₀ = erfc(t/√2)/2,  M₁ = φ(t),  M_j = t^{j−1}·φ(t) + (j − 1)·M_{j−2},

where Σ_j C_j z^j is the polynomial P(|m|_hi + s_hi·z)ᵖ·|Heₙ|(z) (coefficients replaced by
their absolute values) and t₀ the smallest standardized distance of the cut over the box.
The tail bound is added as a ball [0 ± T]: never dropped.

**Closed-form pieces.**  A piece on which gᵖ is a finite sum Σ c·xᵏ·e^{a·x} (a rational;
the SELU, ELU, ReLU and leaky-ReLU pieces, and their squares) is not integrated numerically:
with x = m + s·z, e^{a·x}·φ(z) = e^{a·m + a²v/2}·φ(w), w = z − a·s, so

    ∫_{lo}^{hi} xᵏ e^{a·x} Heₙ(z) φ(z) dz = e^{a·m + a²v/2} Σ_j Q_j·N_j(w_lo, w_hi),

Q_j the coefficients of the polynomial (m + a·v + s·w)ᵏ·Heₙ(w + a·s) and
N_j(t₀, t₁) = ∫_{t₀}^{t₁} wʲ φ(w) dw = [−w^{j−1}φ(w)]_{t₀}^{t₁} + (j − 1)·N_{j−2}
(N₀ from erfc, N₁ = φ(t₀) − φ(t₁)), evaluated in ball arithmetic for the whole (m, v) box.
Such a piece is taken to ±∞ exactly, so it needs no tail bound.  ``closed_form=False``
integrates every piece numerically (the second method the tests compare against).

**Budget.**  Every numerical integral is limited in integrand evaluations, and each call of
:func:`expectations` in evaluations and seconds (:func:`integration_budget`); an exhausted
budget raises :class:`IntegrationBudgetExceeded` (an ArithmeticError: "not certified"),
saying which budget ran out.

Everything here is a function of (m, v) and of the base function g;
:mod:`snn_theory.evaluate.gaussian_moments` makes of it the partials of E[fᵖ] over (m, v) boxes
and the quantities of the moment map.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy as sp
from flint import acb, arb, ctx, fmpq

from snn_theory.derive.activation_parser import x as _x
from snn_theory.derive.activations import Activation
from snn_theory.derive.codegen import compile_function
from snn_theory.evaluate import activation_functions
from snn_theory.evaluate.backends import namespace as _backend_namespace
from snn_theory.exact import to_fraction
from snn_theory.precision import working_precision

#: Highest Hermite order the engine computes (gradients of J need ∂⁴/∂m⁴).
MAX_ORDER = 8
#: Highest Hermite order :func:`expectations` accepts (Mehler coefficients of C-maps).
MAX_EXPECTATION_ORDER = 160
#: Highest power p of E[gᵖ·Heₙ] :func:`expectations` accepts.
MAX_POWER = 16


def hermite_coefficients(n: int) -> list[int]:
    """Coefficients (constant term first) of the probabilists' Hermite polynomial Heₙ."""
    prev, cur = [1], [0, 1]
    if n == 0:
        return prev
    for k in range(1, n):
        nxt = [0] + cur  # z·He_k
        for i, c in enumerate(prev):
            nxt[i] -= k * c
        prev, cur = cur, nxt
    return cur


def fraction_ball(q: Fraction) -> arb:
    """The exact rational ``q`` as an arb ball."""
    return arb(fmpq(q.numerator, q.denominator))


def tail_moments(t: arb, jmax: int) -> list[arb]:
    """M_j(t) = ∫_t^∞ z^j φ(z) dz, j = 0..jmax (φ the standard normal density), t ≥ 0."""
    phi = (-(t * t) / 2).exp() / (2 * arb.pi()).sqrt()
    out = [(t / arb(2).sqrt()).erfc() / 2, phi]
    for j in range(2, jmax + 1):
        out.append(t ** (j - 1) * phi + (j - 1) * out[j - 2])
    return out[: jmax + 1]


def _poly_mul(a: list[arb], b: list[arb]) -> list[arb]:
    out = [arb(0)] * (len(a) + len(b) - 1)
    for i, ai in enumerate(a):
        for j, bj in enumerate(b):
            out[i + j] = out[i + j] + ai * bj
    return out


def tail_bound(growth: Sequence[arb], power: int, order: int, abs_m: arb, s: arb,
               t0: arb) -> arb:
    """Upper bound of ∫_{t0}^∞ P(|m| + s·z)^power·|He_order(z)|·φ(z) dz (all inputs ≥ 0,
    ``abs_m`` and ``s`` upper bounds, ``t0`` a lower bound of the cut)."""
    # P(A + S z) as a polynomial in z: Σ_k a_k (A + S z)^k
    base = [arb(0)]
    shift = [abs_m, s]
    pw = [arb(1)]
    for a_k in growth:
        term = [a_k * c for c in pw]
        base = [(base[i] if i < len(base) else arb(0)) + (term[i] if i < len(term) else arb(0))
                for i in range(max(len(base), len(term)))]
        pw = _poly_mul(pw, shift)
    poly = [arb(1)]
    for _ in range(power):
        poly = _poly_mul(poly, base)
    herm = [arb(abs(c)) for c in hermite_coefficients(order)]
    poly = _poly_mul(poly, herm)
    moments = tail_moments(t0, len(poly) - 1)
    total = arb(0)
    for c, mj in zip(poly, moments):
        total += c * mj
    return arb(total.upper())


# ----------------------------------------------------------------------------- budget
class IntegrationBudgetExceeded(ArithmeticError):
    """The rigorous integration ran out of its evaluation or time budget (not certified)."""


@dataclass
class _Budget:
    evaluations: int = 500_000
    seconds: float = 60.0


_BUDGET = _Budget()


@contextlib.contextmanager
def integration_budget(evaluations: int | None = None, seconds: float | None = None
                       ) -> Iterator[_Budget]:
    """Set the budget of each :func:`expectations` call: at most ``evaluations`` integrand
    evaluations (over all its numerical integrals and retries) and ``seconds`` of wall time
    (checked between integrals; each integral is itself limited to the evaluations left)."""
    old = (_BUDGET.evaluations, _BUDGET.seconds)
    if evaluations is not None:
        _BUDGET.evaluations = int(evaluations)
    if seconds is not None:
        _BUDGET.seconds = float(seconds)
    try:
        yield _BUDGET
    finally:
        _BUDGET.evaluations, _BUDGET.seconds = old


class _Meter:
    """Evaluations and time spent by one :func:`expectations` call."""

    def __init__(self, label: str):
        self.label = label
        self.count = 0
        self.started = time.monotonic()
        self.limit = _BUDGET.evaluations
        self.seconds = _BUDGET.seconds

    def left(self) -> int:
        if time.monotonic() - self.started > self.seconds:
            raise IntegrationBudgetExceeded(
                f"the time budget of {self.seconds:g} s for the Gaussian integrals of "
                f"{self.label} was exhausted")
        left = self.limit - self.count
        if left <= 0:
            self.exhausted()
        return left

    def exhausted(self) -> None:
        raise IntegrationBudgetExceeded(
            f"the budget of {self.limit} integrand evaluations for the Gaussian integrals of "
            f"{self.label} was exhausted")


# ----------------------------------------------------------------------------- closed form
@dataclass(frozen=True)
class ExpTerm:
    """c·xᵏ·e^{a·x}: ``coefficient`` a constant sympy expression (in the parameters)."""

    k: int
    a: Fraction
    coefficient: sp.Expr


def exp_polynomial_terms(expr: sp.Expr) -> tuple[ExpTerm, ...] | None:
    """``expr`` as Σ c·xᵏ·e^{a·x} (a rational), or None when it is not of that form."""
    expanded = sp.expand(sp.powsimp(sp.expand(expr)))
    terms: list[ExpTerm] = []
    for term in sp.Add.make_args(expanded):
        k, a, coeff = 0, Fraction(0), sp.S.One
        for factor in sp.Mul.make_args(term):
            if not factor.has(_x):
                coeff *= factor
            elif factor == _x:
                k += 1
            elif factor.is_Pow and factor.base == _x and factor.exp.is_Integer and \
                    factor.exp > 0:
                k += int(factor.exp)
            elif isinstance(factor, sp.exp):
                arg = sp.expand(factor.args[0])
                slope = arg.coeff(_x, 1)
                rest = sp.expand(arg - slope * _x)
                if rest.has(_x) or not slope.is_Rational:
                    return None
                a += Fraction(int(slope.p), int(slope.q))
                coeff *= sp.exp(rest)
            else:
                return None
        terms.append(ExpTerm(k, a, coeff))
    return tuple(terms)


def _closed_terms(act: Activation, piece: int, power: int
                  ) -> tuple[tuple[int, Fraction, Any], ...] | None:
    """The closed-form terms of g_pieceᵖ with their coefficients compiled for arb (cached)."""
    key = ("closed", piece, power)
    if key not in act.compiled:
        terms = exp_polynomial_terms(act.pieces[piece].expr ** power)
        if terms is None:
            act.compiled[key] = None
        else:
            args = tuple(s for s, _ in act.parameters)
            fn = compile_function(args, [t.coefficient for t in terms],
                                  _backend_namespace("arb"), name=f"closed{piece}_{power}")
            act.compiled[key] = (tuple((t.k, t.a) for t in terms), fn)
    entry = act.compiled[key]
    if entry is None:
        return None
    shapes, fn = entry
    coeffs = fn(*activation_functions.parameter_values(act, "arb"))
    # the exponent as (numerator, denominator): cheap to hash and compare (Fraction is not)
    return tuple((k, (a.numerator, a.denominator), c) for (k, a), c in zip(shapes, coeffs))


def _phi(t: arb | None) -> arb:
    return arb(0) if t is None else (-(t * t) / 2).exp() / (2 * arb.pi()).sqrt()


def _upper(t: arb | None, sign: int) -> arb:
    """∫_t^∞ φ (sign +1) or ∫_{−∞}^t φ (sign −1); t = None is the infinite end."""
    if t is None:  # the empty integral at an infinite end
        return arb(0)
    return (sign * t / arb(2).sqrt()).erfc() / 2


def incomplete_moments(t0: arb | None, t1: arb | None, jmax: int) -> list[arb]:
    """N_j = ∫_{t0}^{t1} wʲ φ(w) dw, j = 0..jmax (None: −∞ for t0, +∞ for t1)."""
    # N_0 without cancellation: from the side of 0 the interval lies on
    if t0 is not None and t0 > 0:
        n0 = _upper(t0, 1) - _upper(t1, 1)
    elif t1 is not None and t1 < 0:
        n0 = _upper(t1, -1) - _upper(t0, -1)
    else:
        n0 = 1 - _upper(t1, 1) - (_upper(t0, -1) if t0 is not None else 0)
    p0, p1 = _phi(t0), _phi(t1)
    out = [n0, p0 - p1]
    w0 = w1 = arb(1)  # t0^(j−1), t1^(j−1) by products (arb's ** is NaN on a ball around 0)
    for j in range(2, jmax + 1):
        w0 = w0 if t0 is None else w0 * t0
        w1 = w1 if t1 is None else w1 * t1
        e0 = arb(0) if t0 is None else w0 * p0
        e1 = arb(0) if t1 is None else w1 * p1
        out.append(e0 - e1 + (j - 1) * out[j - 2])
    return out[: jmax + 1]


def _shifted_hermite(n: int, beta: arb) -> list[arb]:
    """Coefficients of Heₙ(w + β) in w."""
    out = [arb(0)]
    power = [arb(1)]
    for c in hermite_coefficients(n):
        if c:
            out = [(out[i] if i < len(out) else arb(0)) + (c * power[i] if i < len(power)
                                                            else arb(0))
                   for i in range(max(len(out), len(power)))]
        power = _poly_mul(power, [beta, arb(1)])
    return out


def _closed_piece(terms: Sequence[tuple[int, tuple[int, int], arb]], lo: Fraction | None,
                  hi: Fraction | None, n: int, m: arb, v: arb, s: arb,
                  memo: dict | None = None, jmax: int = MAX_ORDER + 4) -> arb:
    """∫_{lo}^{hi} gᵖ(x)·Heₙ(z)·φ(z) dz (z = (x − m)/s) for gᵖ = Σ c·xᵏ·e^{a·x}, each term
    given as (k, (numerator, denominator) of a, c).

    ``memo`` (one per (m, v) and piece) keeps what does not depend on n and k: per exponent
    a the tilted mean, the weight e^{a·m + a²v/2} and the moments N_0..N_jmax."""
    memo = {} if memo is None else memo
    total = arb(0)
    for k, a, c in terms:
        if ("a", a) not in memo:
            qa = arb(fmpq(*a))
            shift = m + qa * v  # the mean of the tilted Gaussian
            t0 = None if lo is None else (fraction_ball(lo) - shift) / s
            t1 = None if hi is None else (fraction_ball(hi) - shift) / s
            weight = (qa * m + qa * qa * v / 2).exp() if a[0] else arb(1)
            memo[("a", a)] = (qa, shift, weight, incomplete_moments(t0, t1, jmax))
        qa, shift, weight, moments = memo[("a", a)]
        if ("x", a, k) not in memo:
            poly = [arb(1)]
            for _ in range(k):
                poly = _poly_mul(poly, [shift, s])
            memo[("x", a, k)] = poly
        if ("he", a, n) not in memo:
            memo[("he", a, n)] = _shifted_hermite(n, qa * s)
        poly = _poly_mul(memo[("x", a, k)], memo[("he", a, n)])
        if len(poly) > len(moments):  # (jmax too small for this call: recompute, rare)
            moments = incomplete_moments(
                None if lo is None else (fraction_ball(lo) - shift) / s,
                None if hi is None else (fraction_ball(hi) - shift) / s, len(poly) - 1)
            memo[("a", a)] = (qa, shift, weight, moments)
        integral = arb(0)
        for q, mj in zip(poly, moments):
            integral += q * mj
        total += c * weight * integral
    return total


@dataclass(frozen=True)
class Expectations:
    """Enclosures of E[gᵖ(x)·Heₙ(z)] for p in ``powers``, n = 0..order, over the (m, v) balls.

    ``values[(p, n)]`` is a real ball; ``tails[(p, n)]`` the tail bound included in it."""

    m: arb
    v: arb
    values: dict[tuple[int, int], arb]
    tails: dict[tuple[int, int], arb]


def range_multiplier(prec: int) -> float:
    """The cut-off multiplier L = √(2(prec + 10)·ln 2) + 2 of the integration range mean ± L·sd
    (e^(−L²/2) < 2^−(prec+10)); the tails beyond it are bounded separately."""
    return math.sqrt(2 * (prec + 10) * math.log(2)) + 2.0


def dyadic_cut(value: arb, direction: int) -> Fraction:
    """An exact dyadic ≤ (direction −1) or ≥ (+1) the ball ``value``."""
    end = value.lower() if direction < 0 else value.upper()
    q = to_fraction(arb(end))
    return Fraction(math.floor(q * 64), 64) if direction < 0 else Fraction(math.ceil(q * 64), 64)


def _integrand(fn: Any, params: tuple, powers: tuple[int, ...], herm: list[int], m: acb, s: acb):
    """gᵖ(z)·Heₙ((z − m)/s)·exp(−((z − m)/s)²/2); for two powers p₁, p₂ the holomorphic
    combination F₁ + i·F₂, whose real and imaginary parts on the real axis are F₁ and F₂ (so
    one integration gives both integrals)."""
    def power(g: acb, p: int) -> acb:
        h = g
        for _ in range(p - 1):
            h = h * g
        return h

    def f(z: acb, analytic: bool) -> acb:
        activation_functions.Analytic.flag = bool(analytic)
        g = fn(z, *params)[0]
        g = g if isinstance(g, acb) else acb(g)
        t = (z - m) / s
        he = acb(herm[-1])
        for c in reversed(herm[:-1]):
            he = he * t + c
        w = he * (-(t * t) / 2).exp()
        if powers == (1, 2):
            return g * (1 + acb(0, 1) * g) * w
        if len(powers) == 2:
            return (power(g, powers[0]) + acb(0, 1) * power(g, powers[1])) * w
        return power(g, powers[0]) * w

    return f


def expectations(act: Activation, m: arb, v: arb, order: int = 2,
                 powers: Sequence[int] = (1, 2), point_check: bool | None = None,
                 closed_form: bool = True, min_order: int = 0) -> Expectations:
    """Rigorous enclosures of E[gᵖ(x)·Heₙ((x − m)/√v)], x ~ N(m, v), for every (m, v) in the
    balls ``m``, ``v`` (v > 0 on the whole ball), n = min_order..order, at the current
    precision.

    Pieces of closed form (see the module docstring) are evaluated exactly unless
    ``closed_form`` is false.  Raises :class:`ArithmeticError` when an integral is not finite
    or (at points) did not reach the working accuracy after retries, and
    :class:`IntegrationBudgetExceeded` when the budget ran out."""
    if not (v > 0):
        raise ArithmeticError("the variance ball must be > 0")
    if order > MAX_EXPECTATION_ORDER:
        raise ValueError(f"order must be ≤ {MAX_EXPECTATION_ORDER}")
    if not powers or any(isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= MAX_POWER
                         for p in powers):
        raise ValueError(f"powers must be integers in 1..{MAX_POWER}")
    prec = ctx.prec
    point = (m.rad() == 0 and v.rad() == 0) if point_check is None else point_check
    v_lo = arb(v.lower())
    guard = 10 + (int(math.ceil(-math.log2(float(v_lo.mid())) * order / 2)) if v_lo < 1 else 0)
    meter = _Meter(act.label())
    with working_precision(bits=prec + guard):
        s = v.sqrt()
        s_hi = arb(s.upper())
        L = arb(range_multiplier(prec))
        a = dyadic_cut(arb(m.lower()) - L * s_hi, -1)
        b = dyadic_cut(arb(m.upper()) + L * s_hi, +1)
        powers = tuple(sorted(set(powers)))
        closed = [None] * len(act.pieces)
        if closed_form:
            for i in range(len(act.pieces)):
                terms = [_closed_terms(act, i, p) for p in powers]
                closed[i] = None if any(t is None for t in terms) else terms
        # numerical segments: [a, b] split at the kinks, minus the closed-form pieces; a
        # tail bound on each side where a numerical piece reaches beyond [a, b]
        splits = [a] + [k for k in act.kinks if a < k < b] + [b]
        segments = [(lo, hi, piece_index(act, lo, hi)) for lo, hi in zip(splits[:-1],
                                                                          splits[1:])]
        segments = [seg for seg in segments if closed[seg[2]] is None]
        numeric = [i for i in range(len(act.pieces)) if closed[i] is None]
        left = any(act.pieces[i].lo is None or act.pieces[i].lo < a for i in numeric)
        right = any(act.pieces[i].hi is None or act.pieces[i].hi > b for i in numeric)
        params = activation_functions.parameter_values(act, "arb")
        fns = activation_functions.piece_functions(act, "acb")
        norm = 1 / (s * (2 * arb.pi()).sqrt())
        m_c, s_c = acb(m), acb(s)
        values: dict[tuple[int, int], arb] = {}
        tails: dict[tuple[int, int], arb] = {}
        abs_m = arb(abs(m).upper())
        t_right = arb(((fraction_ball(b) - arb(m.upper())) / s_hi).lower())
        t_left = arb(((arb(m.lower()) - fraction_ball(a)) / s_hi).lower())
        growth = activation_functions.growth_balls(act)
        params_acb = tuple(acb(q) for q in params)
        memos: list[dict] = [{} for _ in act.pieces]
        degree = max((t[0] for terms in closed if terms is not None for ts in terms
                      for t in ts), default=0)
        jmax = degree + order
        for n in range(min_order, order + 1):
            herm = hermite_coefficients(n)
            totals = [arb(0) for _ in range(len(powers) + 1)]
            for first in range(0, len(powers), 2):  # two powers per integration
                pair = powers[first:first + 2]
                for lo, hi, piece in segments:
                    integrand = _integrand(fns[piece], params_acb, pair, herm, m_c, s_c)
                    re, im = _integrate(integrand, lo, hi, point, prec, s_hi, meter)
                    totals[first] += re
                    totals[first + 1] += im
            exact = [arb(0) for _ in powers]
            for i, terms in enumerate(closed):
                if terms is not None:
                    piece = act.pieces[i]
                    for k in range(len(powers)):
                        exact[k] += _closed_piece(terms[k], piece.lo, piece.hi, n, m, v, s,
                                                  memos[i], jmax)
            for k, p in enumerate(powers):
                tail = arb(0)
                if right:
                    tail += tail_bound(growth, p, n, abs_m, s_hi, t_right)
                if left:
                    tail += tail_bound(growth, p, n, abs_m, s_hi, t_left)
                value = totals[k] * norm + exact[k] + arb(0, tail)
                if not value.is_finite():
                    raise ArithmeticError(f"the Gaussian integral of {act.label()} is not finite")
                values[(p, n)] = value
                tails[(p, n)] = tail
    return Expectations(m, v, {k: +x for k, x in values.items()}, tails)


def piece_index(act: Activation, lo: Fraction, hi: Fraction) -> int:
    """The index of the piece of ``act`` that holds all of [lo, hi]."""
    for i, piece in enumerate(act.pieces):
        if (piece.lo is None or piece.lo <= lo) and (piece.hi is None or hi <= piece.hi):
            return i
    raise AssertionError("segment straddles a kink")


def _integrate(integrand: Any, lo: Fraction, hi: Fraction, point: bool, prec: int,
               scale: arb, meter: _Meter | None = None) -> tuple[arb, arb]:
    """(real part, imaginary part) of the integral over [lo, hi].  At points the radius is
    checked against the working accuracy (python-flint does not report Arb's
    no-convergence status) and the integration repeated with larger work limits, within
    the evaluation and time budget of ``meter``."""
    meter = meter or _Meter("the activation")
    a, b = fraction_ball(lo), fraction_ball(hi)
    tol = arb(2) ** (-prec)

    def counted(z: acb, analytic: bool) -> acb:
        meter.count += 1
        return integrand(z, analytic)

    def run(eval_limit: int, **extra: Any) -> acb:
        left = meter.left()
        return acb.integral(counted, a, b, rel_tol=tol, abs_tol=tol,
                            eval_limit=min(eval_limit, left), **extra)

    default_limit = 1000 * prec + prec * prec  # Arb's own default
    result = run(default_limit)
    if point:
        eval_limit = default_limit
        for _ in range(3):
            target = arb(2) ** (16 - prec)
            if result.real.rad() <= target * (abs(result.real.mid()) + scale) and \
                    result.imag.rad() <= target * (abs(result.imag.mid()) + scale):
                break
            if meter.count >= meter.limit:
                meter.exhausted()
            eval_limit *= 10
            result = run(eval_limit, deg_limit=4 * prec)
        else:
            if meter.count >= meter.limit:
                meter.exhausted()
            raise ArithmeticError("the Gaussian integral did not converge to the working "
                                  "accuracy (raise the precision)")
    if not (result.real.is_finite() and result.imag.is_finite()):
        if meter.count >= meter.limit:
            meter.exhausted()
        raise ArithmeticError("a Gaussian integral is not finite")
    return result.real, result.imag


def has_closed_pieces(act: Activation) -> bool:
    """Whether some piece of g (and of g²) is of closed form (see the module docstring)."""
    return any(_closed_terms(act, i, 1) is not None and _closed_terms(act, i, 2) is not None
               for i in range(len(act.pieces)))


__all__ = ["Expectations", "ExpTerm", "IntegrationBudgetExceeded", "exp_polynomial_terms",
           "expectations", "has_closed_pieces", "hermite_coefficients", "incomplete_moments",
           "integration_budget", "tail_bound", "tail_moments"]
