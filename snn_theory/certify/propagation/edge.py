"""The edge of chaos χ₁ = 1: certified points in (τ, ν) at ω = 0 and in (λ, α) at given input
statistics; float iterates of the c-map for plots."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from flint import arb

from snn_theory.certify.propagation.activation import (
    derivative_activation,
    selu_activation,
)
from snn_theory.certify.propagation.cmap import DEFAULT_PREC
from snn_theory.certify.propagation.integrals import correlation_map
from snn_theory.certify.propagation.point import PropagationPoint, propagation_point
from snn_theory.derive import activations, formulas
from snn_theory.errors import InputError
from snn_theory.evaluate import backends, gaussian
from snn_theory.evaluate.krawczyk import krawczyk_1d
from snn_theory.evaluate.moment_map import closed_form_fixed_point, to_number
from snn_theory.exact import parse_exact
from snn_theory.precision import working_precision


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
                fp = closed_form_fixed_point(0, tau_b, lam_b, alpha_b, backend="arb")
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
        c2 = gaussian.fraction_ball(act.scale) ** 2

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
