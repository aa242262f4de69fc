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
from snn_theory.errors import InputError, TrivialFixedPoint
from snn_theory.evaluate import activation_map
from snn_theory.evaluate.model import (
    PROPAGATION_QUANTITIES,
    ModelSpec,
    MomentModel,
    activation_of,
    resolve,
)
from snn_theory.evaluate.moment_map import to_number


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
    """The certified fixed point of (ω, τ) (the moment model's Krawczyk test,
    :meth:`snn_theory.evaluate.model.MomentModel.fixed_point`) and the propagation quantities
    enclosed over its ball (:meth:`~snn_theory.evaluate.model.MomentModel.propagation`).

    ``activation``: a name, expression, Activation or moment model (default SELU, λ, α in
    closed form); other than SELU, the fixed point is certified by the Gaussian model and the
    quantities are rigorous integrals (:mod:`snn_theory.evaluate.gaussian`; E[f′(z)²] piecewise).
    ``fixed``: use these (μ, ν) balls instead of the fixed point (any input statistics).

    Raises :class:`InputError` for τ ≤ 0 or no fixed point found (:class:`TrivialFixedPoint`
    where the variance is diagnosed to collapse to ν* = 0), and :class:`ArithmeticError` if
    the certified fixed point has ν* ≤ 0."""
    omega_b, tau_b = to_number(omega, "arb"), to_number(tau, "arb")
    if not tau_b > 0:
        raise InputError(f"tau must be > 0 (got {tau})")
    source = activation_of(activation)
    if source is not None and not source.is_selu:
        if lam is not None or alpha is not None:
            raise InputError("lam and alpha are SELU's parameters; not with another activation")
        model = resolve(source)
        act = generic_activation(source)
    else:
        model = resolve(source if source is not None else "selu", lam=lam, alpha=alpha)
        act = selu_activation(lam, alpha)
    if fixed is None:
        fixed = _fixed_point(model, omega_b, tau_b, (omega, tau))
    mu_s, nu_s = fixed
    if not nu_s > 0:
        raise ArithmeticError("the certified fixed point does not have nu* > 0")
    q = model.propagation(mu_s, omega_b, nu_s, tau_b)
    return PropagationPoint(act, omega_b, tau_b, mu_s, nu_s, mu_s * omega_b, nu_s * tau_b,
                            **{k: q[k] for k in PROPAGATION_QUANTITIES})


def _fixed_point(model: MomentModel, omega_b: arb, tau_b: arb, given: tuple[Any, Any]
                 ) -> tuple[arb, arb]:
    """The model's certified fixed point; the failures as :class:`InputError` (for SELU:
    no fixed point found; otherwise, :class:`TrivialFixedPoint` when the variance collapses)."""
    try:
        fp = model.fixed_point(omega_b, tau_b)
        return fp.mean, fp.variance
    except (ArithmeticError, ValueError, ZeroDivisionError) as exc:
        if isinstance(exc, InputError) and model.closed_form:
            raise
        why = " ".join(str(exc).split())
    if model.closed_form:
        raise InputError(
            f"no fixed point of the moment map found for omega = {given[0]}, "
            f"tau = {given[1]} (Newton from (0, 1), then the Krawczyk test): {why}")
    trivial = activation_map.trivial_fixed_point(model.activation, given[0], given[1])
    if trivial:
        raise TrivialFixedPoint(trivial)
    raise InputError(
        f"no fixed point of the moment map of {model.label} certified for omega = "
        f"{given[0]}, tau = {given[1]} (Newton from (0, 1), then the Krawczyk test: {why})")
