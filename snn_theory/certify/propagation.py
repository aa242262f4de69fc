"""Signal propagation at the fixed point: gradients, correlations, depth scales — certified.

At the certified fixed point (μ*, ν*) of the moment map for weights (ω, τ) a layer's
pre-activations are z ~ N(m, v), m = μ*ω, v = ν*τ (docs/propagation.md has the derivations).

* **Gradients.**  The squared norm of the backpropagated signal grows per layer by
  χ₁ = τ·E[f′(z)²]; its mean part by ω²·E[f′(z)]²; the per-layer growth rate of the squared
  gradient norm is ρ = max(χ₁, ω²E[f′(z)]²) (= χ₁ whenever ω² < τ, by Jensen).  Closed forms
  (:data:`snn_theory.derive.formulas.PROPAGATION`), enclosed in arb.
* **Correlations.**  Two inputs at the fixed point with *centred* correlation c (their
  covariance over units divided by ν*) give pre-activations (u₁, u₂), each N(m, v), with
  correlation c (normalised weights: the row sums ω carry only the mean).  The correlation
  map is c̃(c) = (E[f(u₁)f(u₂)] − μ̃²)/ν̃, its slope χ_c(c) = v·E[f′(u₁)f′(u₂)]/ν̃ (Price's
  theorem).  Conditioning on u₁ makes each a 1-D integral of a closed-form 1-D Gaussian
  expectation, enclosed with ``acb.integral`` in the original variable (the kink of f is a
  split point), with the tails beyond the integration range bounded in closed form.
* **Fixed points of the c-map** in [−1, 1]: c* = 1 (c̃(1) = 1 identically) and c* = 0
  (independent inputs stay uncorrelated); Krawczyk proves c* = 0 is the only root near 0, a
  bisection with interval enclosures excludes every other c in the middle of [−1, 1], and the
  Mehler expansion c̃(c) = Σ_{k≥1} b_k c^k, b_k ≥ 0 (so χ_c is increasing on [0, 1] and
  |χ_c| ≤ χ_c(1) on [−1, 1]) excludes the ends.
* **Phase**: ordered (ρ < 1) or chaotic (ρ > 1), decided only by a certified enclosure.
* **Edge of chaos**: certified points of χ₁ = 1 in (τ, ν) at ω = 0, and in (λ, α) at given
  input statistics.  At a fixed point χ₁ ≥ 1 always (Gaussian Poincaré inequality), so the
  fixed-point curve never crosses it for a nonlinear activation.

The activation enters only through :class:`PropagationActivation` (pieces between kinks, the two inner
expectations and growth bounds), so other activations plug in without touching the integrals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy as sp
from flint import acb, arb, ctx, fmpq

from snn_theory.derive import activations, formulas
from snn_theory.errors import InputError, TrivialFixedPoint
from snn_theory.evaluate import backends, gaussian
from snn_theory.evaluate.krawczyk import krawczyk_1d
from snn_theory.evaluate.model import ModelSpec, activation_of
from snn_theory.evaluate.moment_map import default_constants, evaluate, fixed_point, to_number
from snn_theory.exact import parse_exact
from snn_theory.precision import working_precision

#: ``progress(stage, done, total)``.
ProgressCallback = Callable[[str, int, int], None]

#: Default working precision of :func:`propagate` (bits).
DEFAULT_PREC = 128
#: The ``how`` of a piece of [−1, 1] where other fixed points are not excluded.
NOT_EXCLUDED = "not excluded"
#: Bisection budget of the exclusion of other c-map fixed points (intervals examined).
MAX_INTERVALS = 400


# ============================================================================ the activation
@dataclass(frozen=True)
class PropagationActivation:
    """What the integrals need to know about an activation f (one home per activation).

    ``kinks``: exact points where f is not analytic (split points of every integral);
    ``piece(t, k, derivative)``: the analytic continuation of f (or f′) on the k-th piece
    (k = number of kinks below the piece); ``conditional(a, w, derivative)``: E[f(a + √w·Y)]
    (or E[f′(…)]), Y ~ N(0, 1), analytic in a; ``growth``: (A, B, C) with |f(x)| ≤ A + B|x|
    and |f′(x)| ≤ C for all x (used for the rigorous tail bounds); ``propagation(m, v)``:
    arb enclosures of μ̃, ν̃, E[f′(z)], E[f′(z)²] for z ~ N(m, v).
    """

    name: str
    kinks: tuple[arb, ...]
    piece: Callable[[acb, int, bool], acb]
    conditional: Callable[[acb, arb, bool, bool], acb]
    growth: tuple[arb, arb, arb]
    parameters: dict[str, arb] = field(default_factory=dict)
    #: For activations of :mod:`snn_theory.derive.activations`: bounds |f(x)| ≤ P(|x|) and
    #: |f′(x)| ≤ P′(|x|) (polynomial coefficients, constant first) — the pair integrals' tails
    #: are then bounded by Cauchy–Schwarz (:func:`pair_expectation`) — and the source.
    polynomial_growth: tuple[tuple[arb, ...], tuple[arb, ...]] | None = None
    source: Any = None


def selu_activation(lam: Any = None, alpha: Any = None) -> PropagationActivation:
    """SELU with (λ, α) (default λ01, α01 from their closed forms), as an :class:`PropagationActivation`.

    f(x) = λx (x > 0), λα(eˣ − 1) (x ≤ 0); |f(x)| ≤ λα + λ|x|, |f′(x)| ≤ λ·max(1, α).
    """
    dl, da = default_constants("arb")
    lam_b = dl if lam is None else to_number(lam, "arb")
    alpha_b = da if alpha is None else to_number(alpha, "arb")
    if not (lam_b > 0 and alpha_b > 0):
        raise InputError(f"lam and alpha must be > 0 (got {lam_b}, {alpha_b})")
    mean_fn = backends.conditional_function("acb", "mean")
    slope_fn = backends.conditional_function("acb", "slope")

    def piece(t: acb, k: int, derivative: bool) -> acb:
        if k == 0:  # x < 0
            return lam_b * alpha_b * t.exp() if derivative else lam_b * alpha_b * (t.exp() - 1)
        return acb(lam_b) if derivative else lam_b * t

    def conditional(a: acb, w: arb, derivative: bool, tight: bool = True) -> acb:
        return (slope_fn if derivative else mean_fn)(a, w, lam_b, alpha_b)[0]

    c_bound = lam_b * (alpha_b if alpha_b > 1 else arb(1))
    if not (alpha_b > 1 or alpha_b < 1):  # α's ball straddles 1
        c_bound = lam_b * (alpha_b + 1)
    return PropagationActivation(
        "selu",
        (arb(0),),
        piece,
        conditional,
        (lam_b * alpha_b, lam_b, c_bound),
        {"lam": lam_b, "alpha": alpha_b},
    )


# ============================================================================ any activation
#: Bounds |g′(x)| ≤ Σ a_k |x|^k of the built-in activations' base functions g (proofs):
#:
#: * selu: λ (x > 0), λαeˣ ≤ λα (x ≤ 0): ≤ λ01·α01 < 1.76.   elu: 1 or eˣ ≤ 1.
#: * relu, leaky_relu: 0, 1/100 or 1.   tanh: 1 − tanh² ≤ 1.   softplus: σ(x) ≤ 1.
#: * gelu: Φ(x) + x·φ(x), |x·φ(x)| ≤ φ(1) < 1/4: ≤ 5/4.
#: * silu: σ(x) + x·σ(x)(1 − σ(x)), σ(1 − σ) ≤ 1/4: ≤ 1 + |x|/4.
#: * mish: tanh(s) + x·sech²(s)·σ(x), s = softplus(x), all three factors in [0, 1]: ≤ 1 + |x|.
DERIVATIVE_GROWTH: dict[str, tuple[Fraction, ...]] = {
    "selu": (Fraction(176, 100),),
    "elu": (Fraction(1),),
    "relu": (Fraction(1),),
    "leaky_relu": (Fraction(1),),
    "tanh": (Fraction(1),),
    "softplus": (Fraction(1),),
    "gelu": (Fraction(5, 4),),
    "silu": (Fraction(1), Fraction(1, 4)),
    "mish": (Fraction(1), Fraction(1)),
}


def derivative_growth(act: activations.Activation) -> tuple[Fraction, ...]:
    """A bound |g′(x)| ≤ P′(|x|) for the base function g of ``act`` (between kinks).

    Built-ins: :data:`DERIVATIVE_GROWTH`.  User expressions: each piece's derivative (sympy)
    is read back by the activation parser, which derives its growth bound structurally; the
    bounds of the pieces are added.  Raises :class:`InputError` where the parser cannot
    bound a derivative (e.g. it divides by a non-constant)."""
    if act.definition in DERIVATIVE_GROWTH:
        return DERIVATIVE_GROWTH[act.definition]
    total: tuple[Fraction, ...] = ()
    for piece in act.pieces:
        d = sp.diff(piece.expr, activations.x)
        if not d.has(activations.x):
            bound: tuple[Fraction, ...] = (activations.constant_upper(d),)
        else:
            try:
                bound = activations.parse_expression(str(d)).growth
            except InputError as exc:
                raise InputError(
                    f"chi1 and the slopes need a growth bound of f'; none derived for "
                    f"the derivative {d} of {act.definition!r} ({exc})"
                ) from None
        total = activations.poly_add(total, bound) if total else bound
    return total


def derivative_activation(act: activations.Activation) -> activations.Activation:
    """g′ piece by piece (same kinks, same parameters), with :func:`derivative_growth`;
    ``act``'s scale c is applied by the caller (f′ = c·g′)."""
    pieces = tuple(
        activations.Piece(p.lo, p.hi, sp.diff(p.expr, activations.x)) for p in act.pieces
    )
    return activations.Activation(
        act.name + "'",
        act.definition + "'",
        pieces,
        derivative_growth(act),
        act.parameters,
        description="derivative of " + act.definition,
    )


def _complex_mean_expectation(base: activations.Activation, a: acb, w: arb, tight: bool) -> acb:
    """E[g(a + √w·Y)], Y ~ N(0, 1), for a complex ball ``a`` (entire in a):

    ∫ g(x)·exp(−(x − a)²/(2w)) dx/√(2πw) over [Re a − L√w, Re a + L√w] by ``acb.integral``
    split at the kinks of g, plus the tails bounded by |exp(−(x − a)²/(2w))| =
    exp((Im a)²/(2w))·exp(−(x − Re a)²/(2w)) and the growth bound of g.  ``tight``: the
    working tolerance (at quadrature nodes); otherwise a coarse one with a small work limit
    (the enclosure is rigorous either way; it is only wider — used where the outer
    integrator bounds its error on a complex neighbourhood)."""
    prec = ctx.prec
    s_hi = arb(w.sqrt().upper())
    L = arb(gaussian.range_multiplier(prec))
    re = a.real
    lo = gaussian.dyadic_cut(arb(re.lower()) - L * s_hi, -1)
    hi = gaussian.dyadic_cut(arb(re.upper()) + L * s_hi, +1)
    splits = [lo] + [k for k in base.kinks if lo < k < hi] + [hi]
    fns = base.piece_functions("acb")
    params = tuple(acb(q) for q in base.parameter_values("arb"))
    inv = 1 / (2 * w)
    tol = arb(2) ** (-prec) if tight else arb(2) ** -12
    total = acb(0)
    for x0, x1 in zip(splits[:-1], splits[1:]):
        fn = fns[gaussian.piece_index(base, x0, x1)]

        def integrand(t: acb, analytic: bool, fn: Any = fn) -> acb:
            activations.Analytic.flag = bool(analytic)
            g = fn(t, *params)[0]
            g = g if isinstance(g, acb) else acb(g)
            d = t - a
            return g * (-(d * d) * inv).exp()

        total += acb.integral(
            integrand,
            gaussian.fraction_ball(x0),
            gaussian.fraction_ball(x1),
            rel_tol=tol,
            abs_tol=tol,
            eval_limit=None if tight else 1000,
        )
    total *= 1 / (2 * arb.pi() * w).sqrt()
    growth = base.growth_arb()
    abs_m = arb(abs(re).upper())
    t_r = arb(((gaussian.fraction_ball(hi) - arb(re.upper())) / s_hi).lower())
    t_l = arb(((arb(re.lower()) - gaussian.fraction_ball(lo)) / s_hi).lower())
    im = arb(abs(a.imag).upper())
    tail = ((im * im) * inv).exp() * (
        gaussian.tail_bound(growth, 1, 0, abs_m, s_hi, t_r)
        + gaussian.tail_bound(growth, 1, 0, abs_m, s_hi, t_l)
    )
    r = arb(0, arb(tail.upper()))
    return total + acb(r, r)


def _frac(q: Fraction) -> arb:
    return arb(fmpq(q.numerator, q.denominator))


def generic_activation(act: activations.Activation) -> PropagationActivation:
    """An activation of :mod:`snn_theory.derive.activations` (f = c·g + d) as the integrals need it:
    pieces of f and f′ = c·g′ (sympy derivative of each piece), the inner expectations
    E[f(a + √w·Y)] and E[f′(a + √w·Y)] as rigorous integrals with a complex mean (nested in
    the outer integral), and the growth polynomials of f and f′."""
    dact = derivative_activation(act)
    c, d = _frac(act.scale), _frac(act.shift)
    value_fns = act.piece_functions("acb")
    slope_fns = dact.piece_functions("acb")
    params = tuple(acb(q) for q in act.parameter_values("arb"))

    def piece(t: acb, k: int, derivative: bool) -> acb:
        fn = (slope_fns if derivative else value_fns)[k]
        g = fn(t, *params)[0]
        g = g if isinstance(g, acb) else acb(g)
        return c * g if derivative else c * g + d

    def conditional(a: acb, w: arb, derivative: bool, tight: bool = True) -> acb:
        g = _complex_mean_expectation(dact if derivative else act, a, w, tight)
        return c * g if derivative else c * g + d

    value_growth = tuple(abs(c) * a for a in act.growth_arb())
    value_growth = (value_growth[0] + abs(d), *value_growth[1:]) if value_growth else (abs(d),)
    slope_growth = tuple(abs(c) * a for a in dact.growth_arb())
    return PropagationActivation(
        act.label(),
        tuple(_frac(k) for k in act.kinks),
        piece,
        conditional,
        (arb(0), arb(0), arb(0)),
        {},
        (value_growth, slope_growth),
        (act, dact),
    )


# ============================================================================ the point
@dataclass(frozen=True)
class PropagationPoint:
    """Pre-activation law z ~ N(m, v) at the fixed point and the closed-form quantities there.

    ``mean`` μ̃, ``variance`` ν̃ (at the fixed point: μ*, ν*), ``slope_mean`` E[f′(z)],
    ``slope_second_moment`` E[f′(z)²], ``chi1`` τ·E[f′²], ``chi_mean`` ω²·E[f′]²,
    ``chi_c0`` = v·E[f′]²/ν̃, ``chi_c1`` = v·E[f′²]/ν̃ (all arb balls)."""

    activation: PropagationActivation
    omega: arb
    tau: arb
    mu_star: arb
    nu_star: arb
    m: arb
    v: arb
    mean: arb
    variance: arb
    slope_mean: arb
    slope_second_moment: arb
    chi1: arb
    chi_mean: arb
    chi_c0: arb
    chi_c1: arb
    H22: arb


def propagation_point(
    omega: Any = 0,
    tau: Any = 1,
    lam: Any = None,
    alpha: Any = None,
    fixed: tuple[arb, arb] | None = None,
    activation: ModelSpec | None = None,
) -> PropagationPoint:
    """The certified fixed point of (ω, τ) (Krawczyk, :func:`snn_theory.evaluate.moment_map.fixed_point`)
    and the closed-form propagation quantities enclosed over its ball.

    ``activation``: a name, expression, Activation or moment model (default SELU, λ, α in
    closed form); other than SELU, the fixed point is certified by the Gaussian model and the
    quantities are rigorous integrals (:mod:`snn_theory.evaluate.gaussian`; E[f′(z)²] piecewise).
    ``fixed``: use these (μ, ν) balls instead of the fixed point (any input statistics).

    Raises :class:`InputError` for τ ≤ 0 or no fixed point found, and
    :class:`ArithmeticError` if the certified fixed point has ν* ≤ 0."""
    omega_b, tau_b, activation = to_number(omega, "arb"), to_number(tau, "arb"), activation_of(activation)
    if not tau_b > 0:
        raise InputError(f"tau must be > 0 (got {tau})")
    if activation is not None and not activation.is_selu:
        if lam is not None or alpha is not None:
            raise InputError("lam and alpha are SELU's parameters; not with another activation")
        return _generic_point(activation, omega_b, tau_b, fixed, (omega, tau))
    act = selu_activation(lam, alpha)
    lam_b, alpha_b = act.parameters["lam"], act.parameters["alpha"]
    if fixed is None:
        try:
            fixed = fixed_point(omega_b, tau_b, lam_b, alpha_b, backend="arb")
        except (ArithmeticError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(
                f"no fixed point of the moment map found for omega = {omega}, "
                f"tau = {tau} (Newton from (0, 1), then the Krawczyk test): "
                f"{exc}"
            ) from None
    mu_s, nu_s = fixed
    if not nu_s > 0:
        raise ArithmeticError("the certified fixed point does not have nu* > 0")
    values = backends.propagation_function("arb")(mu_s, omega_b, nu_s, tau_b, lam_b, alpha_b)
    q = dict(zip(formulas.PROPAGATION, values))
    base = evaluate(
        mu_s,
        omega_b,
        nu_s,
        tau_b,
        lam_b,
        alpha_b,
        backend="arb",
        quantities=("mean", "variance", "H22"),
        check=False,
    )
    return PropagationPoint(
        act,
        omega_b,
        tau_b,
        mu_s,
        nu_s,
        mu_s * omega_b,
        nu_s * tau_b,
        base["mean"],
        base["variance"],
        q["slope_mean"],
        q["slope_second_moment"],
        q["chi1"],
        q["chi_mean"],
        q["chi_c0"],
        q["chi_c1"],
        base["H22"],
    )


def _generic_point(
    source: activations.Activation,
    omega_b: arb,
    tau_b: arb,
    fixed: tuple[arb, arb] | None,
    given: tuple[Any, Any] = ("omega", "tau"),
) -> PropagationPoint:
    from snn_theory.evaluate import activation_map

    act = generic_activation(source)
    dact = act.source[1]
    if fixed is None:
        try:
            fp = activation_map.fixed_point(source, omega_b, tau_b)
        except (ArithmeticError, ValueError, ZeroDivisionError) as exc:
            fp = None  # (an InputError here: Newton or the test box left nu > 0)
            why = " ".join(str(exc).split())
        if fp is None or not fp.proved:
            trivial = activation_map.trivial_fixed_point(source, given[0], given[1])
            raise TrivialFixedPoint(trivial) if trivial else InputError(
                f"no fixed point of the moment map of {source.label()} certified for omega = "
                f"{given[0]}, tau = {given[1]} (Newton from (0, 1), then the Krawczyk test"
                f"{': ' + why if fp is None else ' failed'})")
        fixed = (fp.mean, fp.variance)
    mu_s, nu_s = fixed
    if not nu_s > 0:
        raise ArithmeticError("the fixed point does not have nu* > 0")
    m, v = mu_s * omega_b, nu_s * tau_b
    q = gaussian.quantities(source, mu_s, omega_b, nu_s, tau_b, ("mean", "variance", "H22"))
    e = gaussian.expectations(dact, m, v, order=0, powers=(1, 2))
    c = _frac(source.scale)
    slope_mean = c * e.values[(1, 0)]
    second = c * c * e.values[(2, 0)]
    var = q["variance"]
    return PropagationPoint(
        act,
        omega_b,
        tau_b,
        mu_s,
        nu_s,
        m,
        v,
        q["mean"],
        var,
        slope_mean,
        second,
        tau_b * second,
        omega_b**2 * slope_mean**2,
        v * slope_mean**2 / var,
        v * second / var,
        q["H22"],
    )


# ============================================================================ the integrals
def _gaussian_tail(T: arb, v: arb, D: arb, B: arb) -> arb:
    """Upper bound of ∫_{|s| ≥ T} (D + B|s|)² φ_v(s) ds (φ_v the N(0, v) density), T > 0:

    2·[D²·Q(y) + 2DB√v·φ(y) + B²v·(y·φ(y) + Q(y))], y = T/√v, φ the standard normal density,
    Q(y) = erfc(y/√2)/2 (exact Gaussian moments of the tail)."""
    y = T / v.sqrt()
    phi = (-(y * y) / 2).exp() / (2 * arb.pi()).sqrt()
    Q = (y / arb(2).sqrt()).erfc() / 2
    bound = 2 * (D * D * Q + 2 * D * B * v.sqrt() * phi + B * B * v * (y * phi + Q))
    return arb(0, arb(bound.upper()))


def _cauchy_schwarz_tail(
    act: PropagationActivation, m: arb, v: arb, left: arb, right: arb, derivative: bool
) -> arb:
    """|E[F(u₁)F(u₂); u₁ ∉ [left, right]]| ≤ √(E[F(u₁)²; u₁ ∉ [left, right]]·E[F(u₂)²])
    (Cauchy–Schwarz), both factors bounded with the growth polynomial P of F
    (|F(x)| ≤ P(|x|), so |F(m + √v·z)| ≤ P(|m| + √v·|z|)) and exact Gaussian tail moments."""
    growth = act.polynomial_growth[1 if derivative else 0]
    s_hi = arb(v.sqrt().upper())
    abs_m = arb(abs(m).upper())
    t_r = arb(((right - arb(m.upper())) / s_hi).lower())
    t_l = arb(((arb(m.lower()) - left) / s_hi).lower())
    tail = gaussian.tail_bound(growth, 2, 0, abs_m, s_hi, t_r) + gaussian.tail_bound(
        growth, 2, 0, abs_m, s_hi, t_l
    )
    full = 2 * gaussian.tail_bound(growth, 2, 0, abs_m, s_hi, arb(0))
    return arb(0, arb((tail * full).sqrt().upper()))


def _exact(x: float) -> arb:
    return arb(float(x))  # the exact binary value


def pair_expectation(
    point: PropagationPoint, c: arb, derivative: bool = False, tolerance: arb | None = None
) -> arb:
    """Enclosure of E[F(u₁)F(u₂)] (F = f, or f′ with ``derivative``), (u₁, u₂) bivariate normal
    with means m, variances v, correlation c (a ball in (−1, 1), or exactly ±1).

    E[F(u₁)F(u₂)] = ∫ F(t)·G(m + c(t − m), (1 − c²)v)·φ_v(t − m) dt with G the closed-form
    inner expectation; ∫ over [L, R] ⊇ m ± K√v by ``acb.integral`` split at the kinks of f
    (and where the inner mean's argument vanishes), plus a closed-form bound of the two tails.
    ``tolerance``: for point arguments, raise :class:`ArithmeticError` if the result's radius
    exceeds it (Arb does not report non-convergence; we check the radius ourselves).
    """
    act, m, v = point.activation, point.m, point.v
    c = to_number(c, "arb")
    prec = ctx.prec
    A, B, C = act.growth
    minus_one = c == -1
    if not minus_one and not (c > -1 and c < 1) and not c == 1:
        raise InputError(f"the correlation must lie in (-1, 1) or be exactly -1 or 1 (got {c})")
    if c == 1:
        raise InputError("c = 1 is the closed-form second moment; use correlation_map")
    generic = act.polynomial_growth is not None
    # Cauchy–Schwarz halves the tail's exponent: twice the range exponent for it
    K = math.sqrt(2 * math.log(2) * ((2 * prec if generic else prec) + 30)) + 2
    m_f, sd_f = float(m.mid()), math.sqrt(float(v.mid()))
    L, R = math.floor(m_f - K * sd_f) - 1, math.ceil(m_f + K * sd_f) + 1
    w = arb(0) if minus_one else (1 - c * c) * v
    splits = {float(k.mid()) for k in act.kinks}
    # the kinks of t ↦ F(t)·F(2m − t) (c = −1) or of F(t): balls, as floats for the cuts
    true_kinks = list(act.kinks) + ([2 * m - k for k in act.kinks] if minus_one else [])
    if minus_one:
        splits |= {float((2 * m - k).mid()) for k in act.kinks}
    elif float(c.mid()) != 0:  # where a = m + c(t − m) = 0 the inner mean is nearly kinked
        splits.add(float((m * (c - 1) / c).mid()))
    cuts = [_exact(L)] + [_exact(s) for s in sorted(splits) if L < s < R] + [_exact(R)]
    kink_mids = [float(k.mid()) for k in act.kinks]
    inv_2v = 1 / (2 * v)
    norm = 1 / (2 * arb.pi() * v).sqrt()

    def make(k: int, k2: int) -> Callable[[acb, bool], acb]:
        def integrand(t: acb, analytic: bool) -> acb:
            s = t - m
            activations.Analytic.flag = bool(analytic)  # branch cuts of user pieces
            outer = act.piece(t, k, derivative)
            if minus_one:
                activations.Analytic.flag = bool(analytic)
                inner = act.piece(2 * m - t, k2, derivative)
            else:
                inner = act.conditional(m + c * s, w, derivative, not analytic)
            return outer * inner * (-(s * s) * inv_2v).exp() * norm

        return integrand

    total = acb(0)
    pieces = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        mid_f = (float(lo) + float(hi)) / 2
        k = sum(1 for km in kink_mids if km < mid_f)
        k2 = sum(1 for km in kink_mids if km < 2 * m_f - mid_f)
        pieces.append(make(k, k2))
        total += acb.integral(
            pieces[-1],
            lo,
            hi,
            rel_tol=arb(2) ** (-prec),
            abs_tol=arb(2) ** (-prec),
            eval_limit=200_000,
        )
    # A cut that is not exactly its kink (a non-dyadic kink, or 2m − κ with m a ball) leaves
    # a sliver between them integrated with the neighbouring piece's continuation: enclose
    # the difference of the two pieces' integrands over the sliver times its width.
    for i in range(1, len(cuts) - 1):
        for kink in true_kinks:
            if float(kink.mid()) == float(cuts[i]) and not kink == cuts[i]:
                X = arb(cuts[i]).union(kink)
                gap = abs(pieces[i - 1](acb(X), False) - pieces[i](acb(X), False))
                width = arb(2 * X.rad())
                bound = arb((gap * width).upper())
                total += acb(arb(0, bound), arb(0, bound))
    T = arb(min((m - cuts[0]).lower(), (cuts[-1] - m).lower()))
    if generic:
        tail = _cauchy_schwarz_tail(act, m, v, cuts[0], cuts[-1], derivative)
    elif derivative:
        tail = _gaussian_tail(T, v, C, arb(0))
    else:
        D = A + B * abs(m) + B * w.sqrt() if not minus_one else A + B * abs(m)
        tail = _gaussian_tail(T, v, D, B)
    result = total.real + tail
    if not total.imag.contains(0) or not result.is_finite():
        raise ArithmeticError("the pair integral did not give a finite real enclosure")
    if tolerance is not None and c.rad() == 0 and result.rad() > tolerance:
        raise ArithmeticError(
            f"the pair integral did not converge (radius {result.rad()} > {tolerance})"
        )
    return result


def correlation_map(point: PropagationPoint, c: Any, tolerance: arb | None = None) -> arb:
    """c̃(c) = (E[f(u₁)f(u₂)] − μ̃²)/ν̃, enclosed (c = 1 gives exactly 1)."""
    c = to_number(c, "arb")
    if c == 1:
        return arb(1)
    return (pair_expectation(point, c, False, tolerance) - point.mean**2) / point.variance


def correlation_slope(point: PropagationPoint, c: Any, tolerance: arb | None = None) -> arb:
    """χ_c(c) = ∂c̃/∂c = v·E[f′(u₁)f′(u₂)]/ν̃ (Price's theorem), enclosed; closed form at c = 1."""
    c = to_number(c, "arb")
    if c == 1:
        return point.chi_c1
    return point.v * pair_expectation(point, c, True, tolerance) / point.variance


# ============================================================================ results
@dataclass(frozen=True)
class CorrelationFixedPoint:
    """A fixed point c* of the c-map: ``value`` (ball), ``slope`` χ_c(c*) (ball), ``stable``
    (True/False, None if the ball of χ_c straddles 1), ``depth_scale`` ξ_c = −1/ln χ_c(c*)
    — a depth scale only where 0 < χ_c < 1 is proven (perturbations of c* decay by e every
    ξ_c layers); ``None`` otherwise (an unstable or undecided fixed point has none), ``how``
    (the certificate)."""

    value: arb
    slope: arb
    stable: bool | None
    depth_scale: arb | None
    how: str

    @classmethod
    def at(cls, value: arb, slope: arb, how: str) -> CorrelationFixedPoint:
        """The fixed point ``value`` with slope ``slope``; its stability and depth scale
        follow from the slope (evaluated at the current precision)."""
        stable = True if slope < 1 else False if slope > 1 else None
        return cls(value, slope, stable, _log_scale(slope), how)


@dataclass(frozen=True)
class Exclusion:
    """A piece of [−1, 1] proved free of c-map fixed points, and how."""

    low: float
    high: float
    how: str


@dataclass(frozen=True)
class Phase:
    """``phase``: "chaotic" / "ordered" / "undecided"; ``rate``: enclosure of the growth rate
    ρ = max(χ₁, ω²E[f′]²) of the squared gradient norm; ``certificate``: the statement proven."""

    phase: str
    rate: arb
    certificate: str


@dataclass(frozen=True)
class PropagationResult:
    """Everything :func:`propagate` certifies at one (ω, τ, λ, α)."""

    point: PropagationPoint
    fixed_points: tuple[CorrelationFixedPoint, ...]
    exclusions: tuple[Exclusion, ...]
    phase: Phase
    depth_scale_q: arb | None
    prec: int

    @property
    def complete(self) -> bool:
        """True if every part of [−1, 1] is either a certified fixed point or excluded."""
        return bool(self.exclusions) and all(e.how != NOT_EXCLUDED for e in self.exclusions)


def _log_scale(chi: arb) -> arb | None:
    """The depth scale −1/ln χ where 0 < χ < 1 is proven (a ball); ``None`` otherwise: for
    χ ≥ 1 perturbations do not decay, and −1/ln χ is no depth scale."""
    if not (chi > 0 and chi < 1):
        return None
    return -1 / chi.log()


def phase_of(point: PropagationPoint) -> Phase:
    """The phase from a certified enclosure of ρ = max(χ₁, ω²E[f′(z)]²)."""
    a, b = point.chi1, point.chi_mean
    lo = a.lower() if a.lower() > b.lower() else b.lower()
    hi = a.upper() if a.upper() > b.upper() else b.upper()
    rate = arb(lo).union(arb(hi))  # max(χ₁, χ_mean) over the balls
    text = (
        f"rho = max(chi1, omega^2 E[f'(z)]^2) is in {rate.str(12, radius=True)} "
        f"for every point of the certified fixed-point ball"
    )
    if rate > 1:
        return Phase(
            "chaotic",
            rate,
            text + ", so rho > 1: the squared gradient norm grows by a factor > 1 per layer",
        )
    if rate < 1:
        return Phase(
            "ordered",
            rate,
            text + ", so rho < 1: the squared gradient norm shrinks by a factor < 1 per layer",
        )
    return Phase("undecided", rate, text + ", which contains 1: the phase is not decided")


def check_phase_claim(result: PropagationResult, claim: str) -> tuple[bool | None, str]:
    """Whether the claim "ordered" / "chaotic" holds: True (proven), False (refuted by the
    certified enclosure of ρ), None (undecided)."""
    if claim not in ("ordered", "chaotic"):
        raise InputError(f"a phase claim is 'ordered' or 'chaotic' (got {claim!r})")
    ph = result.phase
    if ph.phase == "undecided":
        return None, ph.certificate
    return ph.phase == claim, ph.certificate


def _g(point: PropagationPoint, c: arb, tol: arb | None) -> arb:
    return correlation_map(point, c, tol) - c


class _Slopes:
    """Enclosures of χ_c over an interval [a, b] ⊂ [−1, 1] from point enclosures, by the
    Mehler expansion χ_c(c) = Σ_{k≥1} k·b_k·c^{k−1} with b_k ≥ 0 (docs/propagation.md):
    for 0 ≤ a ≤ b, χ_c([a, b]) ⊂ [χ_c(a), χ_c(b)] (non-decreasing); for |c| ≤ B,
    χ_c(c) ∈ [2χ_c(0) − χ_c(B), χ_c(B)].  Point values are cached."""

    def __init__(self, point: PropagationPoint, tol: arb) -> None:
        self.point, self.tol, self.cache = point, tol, {}

    def at(self, c: float) -> arb:
        if c not in self.cache:
            self.cache[c] = correlation_slope(self.point, arb(c), self.tol)
        return self.cache[c]

    def over(self, a: float, b: float) -> arb:
        if a >= 0:
            return self.at(a).union(self.at(b))
        big = max(abs(a), abs(b))
        top = self.at(big)
        return (2 * self.at(0.0) - top).union(top)


def _certify_zero(
    point: PropagationPoint, slopes: _Slopes, tol: arb
) -> tuple[CorrelationFixedPoint, float]:
    """Krawczyk on g(c) = c̃(c) − c around 0 (radius δ shrinking until the test passes),
    g′ over the ball from :class:`_Slopes`."""
    for delta in (0.125, 0.0625, 0.03125, 0.015625, 0.0078125):
        box = arb(0, delta)

        def derivative(x: arb, delta: float = delta) -> arb:
            if x.rad() == 0:
                return slopes.at(float(x.mid())) - 1
            return slopes.over(-delta, delta) - 1

        result = krawczyk_1d(lambda x: _g(point, x, tol), derivative, box)
        if result.proved:
            at0 = slopes.at(0.0)
            slope = at0.intersection(point.chi_c0) if at0.overlaps(point.chi_c0) else at0
            how = (
                f"Krawczyk: the only root of c~(c) - c in [-{delta}, {delta}] "
                f"(enclosure {result.enclosure.str(6, radius=True)}); c~(0) = 0 exactly "
                f"(independent inputs); slope = v E[f'(z)]^2/nu~ (closed form and integral)"
            )
            return CorrelationFixedPoint.at(arb(0), slope, how), delta
    raise ArithmeticError("the Krawczyk test for the c-map fixed point c* = 0 failed")


def _exclude(
    point: PropagationPoint,
    slopes: _Slopes,
    lo: float,
    hi: float,
    tol: arb,
    budget: list[int],
    progress: ProgressCallback | None,
) -> list[Exclusion]:
    """Bisection of [lo, hi] until the centred form g(x₀) + (χ_c(X) − 1)(X − x₀) excludes 0
    on every piece (χ_c(X) from :class:`_Slopes`)."""
    out: list[Exclusion] = []
    stack = [(lo, hi)]
    while stack:
        a, b = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise ArithmeticError(
                f"the exclusion of other c-map fixed points did not finish "
                f"within {MAX_INTERVALS} intervals (left: [{a}, {b}])"
            )
        x0 = arb((a + b) / 2)
        X = arb((a + b) / 2, (b - a) / 2)
        value = _g(point, x0, tol) + (slopes.over(a, b) - 1) * (X - x0)
        if progress is not None:
            progress("exclusion", MAX_INTERVALS - budget[0], MAX_INTERVALS)
        if not value.contains(0):
            out.append(
                Exclusion(
                    a, b, f"centred form: c~(c) - c {'< 0' if value < 0 else '> 0'} on the interval"
                )
            )
        else:
            mid = (a + b) / 2
            stack.extend([(mid, b), (a, mid)])
    return sorted(out, key=lambda e: e.low)


def propagate(
    omega: Any = 0,
    tau: Any = 1,
    lam: Any = None,
    alpha: Any = None,
    *,
    prec: int = DEFAULT_PREC,
    exclusion: bool = True,
    progress: ProgressCallback | None = None,
    activation: ModelSpec | None = None,
) -> PropagationResult:
    """Certify the propagation quantities at the fixed point of (ω, τ) (module docstring).

    ``activation`` (name, expression, Activation or model; default SELU), other than SELU: the
    c-map's fixed points by :func:`_mehler_fixed_points` (1-D integrals, Mehler expansion).

    Raises :class:`InputError` for bad input and :class:`ArithmeticError` when a certificate
    cannot be obtained (no certified fixed point, an integral that does not converge, an
    exclusion that does not finish).
    """
    with working_precision(bits=int(prec)):
        point = propagation_point(omega, tau, lam, alpha, activation=activation)
        tol = arb(2) ** (-(prec // 2))
        if point.activation.polynomial_growth is not None:
            if progress is not None:
                progress("fixed points", 0, 1)
            fps, excl = _mehler_fixed_points(point, tol)
            return PropagationResult(
                point, fps, excl, phase_of(point), _log_scale(abs(point.H22)), int(prec)
            )
        if progress is not None:
            progress("fixed points", 0, 1)
        slopes = _Slopes(point, tol)
        zero, delta = _certify_zero(point, slopes, tol)
        one_slope = point.chi_c1
        one = CorrelationFixedPoint.at(
            arb(1),
            one_slope,
            "c~(1) = (E[f(z)^2] - mu~^2)/nu~ = 1 identically; slope = "
            "v E[f'(z)^2]/nu~ (closed form; = chi1 at the fixed point)",
        )
        exclusions: list[Exclusion] = []
        if exclusion:
            exclusions = _exclusions(point, slopes, delta, tol, progress)
        fixed_points = (zero, one)
        depth_q = _log_scale(abs(point.H22))
        return PropagationResult(
            point, fixed_points, tuple(exclusions), phase_of(point), depth_q, int(prec)
        )


def is_odd(act: activations.Activation) -> bool:
    """sympy proves f(−x) = −f(x) identically (False also when it cannot decide)."""
    if act.shift != 0:
        return False
    f = act.sympy_expression()
    try:
        return sp.simplify(f.subs(activations.x, -activations.x) + f) == 0
    except (TypeError, ValueError, NotImplementedError):
        return False


def _mehler_fixed_points(
    point: PropagationPoint, tol: arb
) -> tuple[tuple[CorrelationFixedPoint, ...], tuple[Exclusion, ...]]:
    """All fixed points of the c-map in [−1, 1], for any activation, from 1-D integrals.

    Mehler: c̃(c) = Σ_{k≥1} b_k·c^k with b_k = E[f(u)·He_k((u − m)/√v)]²/(k!·ν̃) ≥ 0 and
    Σ b_k = c̃(1) = 1, b_1 = χ_c(0) = v·E[f′]²/ν̃ (Stein).  If b_1 < 1 is certified, some b_k,
    k ≥ 2, is > 0, so on 0 < |c| < 1: |c̃(c)| ≤ Σ b_k|c|^k < |c| — no fixed point in (−1, 0)
    ∪ (0, 1).  c̃(0) = 0 (independent inputs) and c̃(1) = 1 exactly; c = −1 is a fixed point
    iff c̃(−1) = −1: proven by symmetry when m = 0 and sympy proves f odd (then χ_c(−1) =
    χ_c(1), f′ being even), excluded when the 1-D enclosure of c̃(−1) (u₂ = 2m − u₁) is > −1."""
    b1 = point.chi_c0
    zero = CorrelationFixedPoint.at(
        arb(0),
        b1,
        "c~(0) = 0 exactly (independent inputs: E[f(u1) f(u2)] = mu~^2); slope "
        "chi_c(0) = v E[f'(z)]^2/nu~ (rigorous 1-D integral)",
    )
    s1 = point.chi_c1
    one = CorrelationFixedPoint.at(
        arb(1),
        s1,
        "c~(1) = 1 identically; slope v E[f'(z)^2]/nu~ (rigorous 1-D integral; = chi1 at "
        "the fixed point)",
    )
    if not b1 < 1:
        return (zero, one), (Exclusion(-1, 1, NOT_EXCLUDED),)
    mehler = (
        f"Mehler: c~(c) = sum_k b_k c^k, b_k >= 0, sum b_k = 1, b_1 = chi_c(0) in "
        f"{b1.str(8, radius=True)} < 1, so |c~(c)| < |c|"
    )
    middle = [Exclusion(-1, 0, mehler + " on (-1, 0)"), Exclusion(0, 1, mehler + " on (0, 1)")]
    source = point.activation.source[0]
    if point.m == 0 and is_odd(source):
        minus = CorrelationFixedPoint.at(
            arb(-1),
            s1,
            "c~(-1) = -1: m = 0 and f is odd (sympy: f(-x) + f(x) = 0), so u2 = -u1 and "
            "E[f(u1) f(-u1)] = -E[f(u1)^2], mu~ = 0; slope chi_c(-1) = chi_c(1) (f' even)",
        )
        return (minus, zero, one), tuple(middle)
    at_minus = correlation_map(point, arb(-1), tol)
    if at_minus > -1:
        end = Exclusion(
            -1, -1, f"c~(-1) in {at_minus.str(8, radius=True)} > -1 (rigorous 1-D integral)"
        )
        return (zero, one), (end, *middle)
    return (zero, one), (*middle, Exclusion(-1, -1, NOT_EXCLUDED))


def _exclusions(
    point: PropagationPoint,
    slopes: _Slopes,
    delta: float,
    tol: arb,
    progress: ProgressCallback | None,
) -> list[Exclusion]:
    """Prove [−1, −δ] ∪ [δ, 1) free of fixed points (see the module docstring)."""
    chi1_hi = point.chi_c1
    budget = [MAX_INTERVALS]
    out: list[Exclusion] = []
    # the end near 1: χ_c increasing on [0, 1] and ≤ χ_c(1) (Mehler), g(1) = 0
    eps = 1 / 64
    end_hi = None
    for _ in range(8):
        if chi1_hi < 1:
            end_hi = Exclusion(
                1 - eps,
                1,
                "Mehler: chi_c <= chi_c(1) < 1 on [0, 1], so c~(c) - c > 0 on [1 - eps, 1)",
            )
            break
        slope = slopes.at(1 - eps)
        if slope > 1:
            end_hi = Exclusion(
                1 - eps,
                1,
                f"Mehler: chi_c increasing on [0, 1] and "
                f"chi_c({1 - eps}) > 1, so c~(c) - c < 0 on "
                f"[{1 - eps}, 1)",
            )
            break
        eps /= 4
    if end_hi is None:
        raise ArithmeticError("could not exclude fixed points of the c-map near c = 1")
    # the end near −1: |χ_c| ≤ χ_c(1) on [−1, 1] (Mehler)
    eps_lo = 1 / 64
    end_lo = None
    for _ in range(8):
        g = _g(point, arb(-1 + eps_lo), tol)
        if abs(g) > (1 + chi1_hi) * eps_lo:
            end_lo = Exclusion(
                -1,
                -1 + eps_lo,
                f"Mehler: |chi_c| <= chi_c(1) on [-1, 1] and "
                f"|c~(c) - c| > (1 + chi_c(1)) eps at c = "
                f"{-1 + eps_lo}",
            )
            break
        eps_lo /= 4
    if end_lo is None:
        raise ArithmeticError("could not exclude fixed points of the c-map near c = -1")
    out.append(end_lo)
    out += _exclude(point, slopes, -1 + eps_lo, -delta, tol, budget, progress)
    out += _exclude(point, slopes, delta, 1 - eps, tol, budget, progress)
    out.append(end_hi)
    return out


# ============================================================================ edge of chaos
@dataclass(frozen=True)
class EdgePoint:
    """A certified point where χ₁ = 1: ``tau`` and the ball ``nu`` of the input variance at
    which τ·E[f′(z)²] = 1, z ~ N(0, ν·τ) (ω = 0), proven unique in ``box`` (Krawczyk); and,
    where certified, ν* of the fixed point at this τ and χ₁ there (``None`` when no fixed
    point was certified: ``note`` says why)."""

    tau: Fraction
    nu: arb
    box: arb
    nu_star: arb | None
    chi1_at_fixed_point: arb | None
    note: str = ""
    how: str = ""


def _chi1_function() -> Callable[..., tuple[arb, arb]]:
    import sympy as sp

    chi = formulas.PROPAGATION["chi1"]
    return backends.expression_function("arb", formulas.ARGUMENTS, (chi, sp.diff(chi, formulas.nu)))


def edge_of_chaos_tau(
    taus: Sequence[Any], lam: Any = None, alpha: Any = None, prec: int = DEFAULT_PREC
) -> list[EdgePoint]:
    """For each τ (exact) the ν with τ·E[f′(z)²] = 1, z ~ N(0, ντ) (ω = 0), certified by Krawczyk.

    E[f′²] decreases in v = ντ from λ²(1 + α²)/2 to λ²/2, so a root exists iff
    λ²/2 < 1/τ < λ²(1 + α²)/2; τ outside that range raises :class:`InputError`."""
    import mpmath

    with working_precision(bits=int(prec)):
        act = selu_activation(lam, alpha)
        lam_b, alpha_b = act.parameters["lam"], act.parameters["alpha"]
        fn = _chi1_function()
        out = []
        for tau in taus:
            tau_q, tau_b = parse_exact(tau, "tau", positive=True), to_number(tau, "arb")
            lo_v, hi_v = lam_b**2 / 2, lam_b**2 * (1 + alpha_b**2) / 2
            if not (tau_b * lo_v < 1 and tau_b * hi_v > 1):
                raise InputError(
                    f"no edge of chaos at tau = {tau}: chi1 = 1 needs "
                    f"lam^2/2 < 1/tau < lam^2 (1 + alpha^2)/2"
                )
            lam_f, alpha_f = float(lam_b.mid()), float(alpha_b.mid())
            with mpmath.workprec(prec + 20):

                def h(  # the starting guess only: Krawczyk certifies the root
                    nu: Any, tau: float = float(tau_q), lam_f: float = lam_f, alpha_f: float = alpha_f
                ) -> Any:
                    v = nu * tau
                    e2 = mpmath.exp(2 * v) * mpmath.erfc(mpmath.sqrt(2 * v))
                    return tau * lam_f**2 / 2 * (1 + alpha_f**2 * e2) - 1

                guess = mpmath.findroot(h, (mpmath.mpf("1e-3"), mpmath.mpf(50)), solver="anderson")
            from snn_theory.evaluate.moment_map import mpf_to_arb

            center = mpf_to_arb(guess)

            def g(x: arb, tau_b: arb = tau_b) -> arb:
                return fn(arb(0), arb(0), x, tau_b, lam_b, alpha_b)[0] - 1

            def dg(x: arb, tau_b: arb = tau_b) -> arb:
                return fn(arb(0), arb(0), x, tau_b, lam_b, alpha_b)[1]

            result = None
            for r in (2.0 ** (-(prec // 2)), 1e-8, 1e-4, 1e-2, 1e-1):
                box = center + arb(0, abs(float(guess)) * r)
                if not box.lower() > 0:
                    continue
                result = krawczyk_1d(g, dg, box)
                if result.proved:
                    for _ in range(6):  # Krawczyk of the enclosure: contracts like Newton
                        again = krawczyk_1d(g, dg, result.enclosure)
                        if not again.proved:
                            break
                        result = type(result)(True, result.box, again.enclosure)
                    break
            if result is None or not result.proved:
                raise ArithmeticError(f"could not certify the edge of chaos at tau = {tau}")
            nu_star = chi_fp = None
            note = ""
            try:
                fp = fixed_point(0, tau_b, lam_b, alpha_b, backend="arb")
                nu_star = fp[1]
                chi_fp = backends.propagation_function("arb")(
                    fp[0], arb(0), fp[1], tau_b, lam_b, alpha_b
                )[2]
            except (ArithmeticError, ValueError, ZeroDivisionError) as exc:
                note = (
                    f"no fixed point of the moment map certified at omega = 0, tau = {tau} "
                    f"(Newton from (0, 1), then the Krawczyk test: {' '.join(str(exc).split())})"
                )
            out.append(EdgePoint(tau_q, result.enclosure, result.box, nu_star, chi_fp, note))
        return out


def edge_of_chaos_activation(
    taus: Sequence[Any], act: activations.Activation, prec: int = DEFAULT_PREC
) -> list[EdgePoint]:
    """For each τ: a ν with χ₁ = τ·E[f′(z)²] = 1, z ~ N(0, ν·τ) (ω = 0), for any activation.

    h(ν) = χ₁(ν) − 1 is enclosed by rigorous 1-D integrals at ν = 2^k, k = −12..12; the first
    sign change proven there is bisected (the intermediate value theorem: a root lies in every
    bracket whose ends have proven opposite signs); the root is unique in the final bracket
    when the enclosure of h′(ν) = τ²·E[f′(z)²·He₂(z/√v)]/(2v) over it excludes 0.  Raises
    :class:`InputError` when no sign change is found on that grid."""
    with working_precision(bits=int(prec)):
        dact = derivative_activation(act)
        c2 = _frac(act.scale) ** 2

        def h(nu: arb, tau_b: arb) -> arb:
            e = gaussian.expectations(dact, arb(0), nu * tau_b, order=0, powers=(2,))
            return tau_b * c2 * e.values[(2, 0)] - 1

        out = []
        for tau in taus:
            tau_q, tau_b = parse_exact(tau, "tau", positive=True), to_number(tau, "arb")
            grid = [arb(2) ** k for k in range(-12, 13)]
            signs = []
            bracket = None
            for nu in grid:
                value = h(nu, tau_b)
                sign = 1 if value > 0 else -1 if value < 0 else 0
                if signs and sign and signs[-1][1] and sign != signs[-1][1]:
                    bracket = (signs[-1][0], nu, signs[-1][1])
                    break
                signs.append((nu, sign))
            if bracket is None:
                raise InputError(
                    f"no edge of chaos found at tau = {tau} for {act.label()}: chi1(nu) - 1 "
                    "has no proven sign change for nu = 2^-12 .. 2^12"
                )
            a, b, sign_a = bracket
            target = arb(2) ** (-(prec // 2))
            while (b - a) > target * b:
                mid = arb(((a + b) / 2).mid())
                value = h(mid, tau_b)
                if value.contains(0):
                    break
                if (1 if value > 0 else -1) == sign_a:
                    a = mid
                else:
                    b = mid
            box = arb(a).union(arb(b))
            v = box * tau_b
            e = gaussian.expectations(dact, arb(0), v, order=2, powers=(2,))
            slope = tau_b * tau_b * c2 * e.values[(2, 2)] / (2 * v)
            unique = slope > 0 or slope < 0
            how = (
                f"intermediate value theorem: chi1 - 1 has proven opposite signs at the ends of "
                f"{box.str(12, radius=True)}"
                + (
                    f"; unique there: d chi1/d nu in {slope.str(6, radius=True)} excludes 0"
                    if unique
                    else "; uniqueness not proven"
                )
            )
            nu_star = chi_fp = None
            note = ""
            try:
                point = propagation_point(0, tau_b, activation=act)
                nu_star, chi_fp = point.nu_star, point.chi1
            except (InputError, ArithmeticError) as exc:
                note = " ".join(str(exc).split())
            out.append(EdgePoint(tau_q, box, box, nu_star, chi_fp, note, how))
        return out


@dataclass(frozen=True)
class LambdaEdgePoint:
    """λ (ball) with χ₁(λ, α) = 1 at input statistics (μ, ν) and weights (ω, τ)."""

    alpha: Fraction
    lam: arb
    chi1: arb


def edge_of_chaos_lambda(
    alphas: Sequence[Any],
    mu: Any = 0,
    nu: Any = 1,
    omega: Any = 0,
    tau: Any = 1,
    prec: int = DEFAULT_PREC,
) -> list[LambdaEdgePoint]:
    """For each α: λ = (τ·E[f′(z)²]|_{λ=1})^(−1/2), z ~ N(μω, ντ) — closed form, since E[f′²]
    is proportional to λ²; ``chi1`` re-evaluates χ₁ at the λ ball (it must contain 1)."""
    with working_precision(bits=int(prec)):
        fn = backends.propagation_function("arb")
        args = [to_number(x, "arb") for x in (mu, omega, nu, tau)]
        out = []
        for a in alphas:
            a_q, a_b = parse_exact(a, "alpha", positive=True), to_number(a, "arb")
            lam_edge = 1 / fn(*args, arb(1), a_b)[2].sqrt()
            out.append(LambdaEdgePoint(a_q, lam_edge, fn(*args, lam_edge, a_b)[2]))
        return out


# ============================================================================ float helpers
def correlation_iterates(point: PropagationPoint, c0: float, steps: int) -> list[float]:
    """c₀, c̃(c₀), c̃(c̃(c₀)), … as floats (midpoints of the enclosures; for plots and the
    Monte Carlo comparison — evidence, not a certificate)."""
    out = [float(c0)]
    c = float(c0)
    for _ in range(steps):
        c = float(correlation_map(point, arb(c)).mid()) if c < 1 else 1.0
        out.append(c)
    return out


__all__ = [
    "PropagationActivation",
    "CorrelationFixedPoint",
    "EdgePoint",
    "Exclusion",
    "LambdaEdgePoint",
    "Phase",
    "PropagationPoint",
    "PropagationResult",
    "check_phase_claim",
    "correlation_iterates",
    "correlation_map",
    "correlation_slope",
    "edge_of_chaos_activation",
    "edge_of_chaos_lambda",
    "derivative_activation",
    "derivative_growth",
    "generic_activation",
    "is_odd",
    "edge_of_chaos_tau",
    "pair_expectation",
    "phase_of",
    "propagate",
    "propagation_point",
    "selu_activation",
]
