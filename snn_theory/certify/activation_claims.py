"""Claims about any activation, proven or refuted in ball arithmetic, with certificates.

A claim is ``quantity relation threshold`` on a box in (μ, ω, ν, τ)
(:class:`snn_theory.certify.claims.Claim`); the activation is any
:class:`snn_theory.derive.activations.Activation`.  SELU keeps its closed-form verifier
(:mod:`snn_theory.certify.search`); this is the generic one.

The claims of the built-in theorems' analogues, and when a value refutes a claim.
"""

from __future__ import annotations

from flint import arb

from snn_theory.certify.activation_cells import ball_end
from snn_theory.certify.claims import (
    BUILTIN_CLAIMS,
    THEOREM_DOMAINS,
    THEOREM_GROUPS,
    Claim,
)


# ----------------------------------------------------------------------------- claims
def theorem1_analogue(name_prefix: str = "theorem1_analogue") -> list[Claim]:
    """Theorem 1's statement for any activation on the paper's domain: S(H) < 1, and g maps
    the (μ, ν) box [−0.1, 0.1] × [0.8, 1.5] into itself (μ̃ ∈ [−0.1, 0.1], ν̃ ∈ [0.8, 1.5])."""
    d = THEOREM_DOMAINS["theorem1"]
    texts = (("contraction", "spectral_norm<1"), ("mean_lower", "mean>=-0.1"),
             ("mean_upper", "mean<=0.1"), ("variance_lower", "variance>=0.8"),
             ("variance_upper", "variance<=1.5"))
    return [Claim.parse(t, d, name=f"{name_prefix}.{n}") for n, t in texts]


def builtin_claims(theorem: str) -> list[Claim]:
    """The built-in claim groups for a non-SELU activation: Theorem 1's SELU-specific bounds
    on μ̃, ν̃ become "g maps the box into itself"; the other claims apply as they are."""
    out: list[Claim] = []
    groups = ["1", "appendix", "2", "3"] if theorem == "all" else [theorem]
    for group in groups:
        if group == "1":
            out += theorem1_analogue()
        else:
            out += [BUILTIN_CLAIMS[n] for n in THEOREM_GROUPS[group]]
    return out


def violates(claim: Claim, value: arb) -> bool:
    """The whole ball is on the wrong side of the threshold (so the claim is false)."""
    t = claim.threshold
    lo, hi = ball_end(value, -1), ball_end(value, 1)
    return {"<": lo >= t, "<=": lo > t, ">": hi <= t, ">=": hi < t}[claim.relation]
