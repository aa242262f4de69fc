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
* **Networks** (:mod:`snn_theory.certify.propagation.network`): the same quantities for a
  whole network at the certified fixed point of its map, composed from its blocks.
* **Edge of chaos**: certified points of χ₁ = 1 in (τ, ν) at ω = 0, and in (λ, α) at given
  input statistics.  At a fixed point χ₁ ≥ 1 always (Gaussian Poincaré inequality), so the
  fixed-point curve never crosses it for a nonlinear activation.

The activation enters only through :class:`PropagationActivation` (pieces between kinks, the two inner
expectations and growth bounds), so other activations plug in without touching the integrals.
"""

from __future__ import annotations

from snn_theory.certify.propagation.activation import (
    PropagationActivation,
    derivative_activation,
    derivative_growth,
    generic_activation,
    selu_activation,
)
from snn_theory.certify.propagation.cmap import (
    CorrelationFixedPoint,
    Exclusion,
    Phase,
    PropagationResult,
    check_phase_claim,
    is_odd,
    log_scale,
    phase_of,
    propagate,
    zero_slope,
)
from snn_theory.certify.propagation.edge import (
    EdgePoint,
    LambdaEdgePoint,
    correlation_iterates,
    edge_of_chaos_activation,
    edge_of_chaos_lambda,
    edge_of_chaos_tau,
)
from snn_theory.certify.propagation.integrals import (
    correlation_map,
    correlation_slope,
    pair_expectation,
)
from snn_theory.certify.propagation.network import (
    NetworkPropagation,
    network_correlation,
    propagate_network,
)
from snn_theory.certify.propagation.point import PropagationPoint, propagation_point

__all__ = [
    "PropagationActivation",
    "CorrelationFixedPoint",
    "EdgePoint",
    "Exclusion",
    "LambdaEdgePoint",
    "NetworkPropagation",
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
    "log_scale",
    "network_correlation",
    "propagate_network",
    "zero_slope",
    "edge_of_chaos_tau",
    "pair_expectation",
    "phase_of",
    "propagate",
    "propagation_point",
    "selu_activation",
]
