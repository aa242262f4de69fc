"""The certified fixed point (μ*, ν*) and the gradient quantities χ₁, ρ at given weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flint import arb

from snn_theory.certify.propagation.activation import (
    PropagationActivation,
    generic_activation,
    selu_activation,
)
from snn_theory.derive import activations, formulas
from snn_theory.errors import InputError, TrivialFixedPoint
from snn_theory.evaluate import backends, gaussian, gaussian_moments
from snn_theory.evaluate.model import ModelSpec, activation_of
from snn_theory.evaluate.moment_map import (
    closed_form_fixed_point,
    closed_form_quantities,
    to_number,
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
    """The certified fixed point of (ω, τ) (Krawczyk, :func:`snn_theory.evaluate.moment_map.closed_form_fixed_point`)
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
            fixed = closed_form_fixed_point(omega_b, tau_b, lam_b, alpha_b, backend="arb")
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
    base = closed_form_quantities(
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
            fp = activation_map.gaussian_fixed_point(source, omega_b, tau_b)
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
    q = gaussian_moments.quantities(source, mu_s, omega_b, nu_s, tau_b, ("mean", "variance", "H22"))
    e = gaussian.expectations(dact, m, v, order=0, powers=(1, 2))
    c = gaussian.fraction_ball(source.scale)
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
