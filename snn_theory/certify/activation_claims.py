"""The built-in claims under any moment map: the paper's theorems for SELU's closed forms,
their analogues for any other activation.

A claim is ``quantity relation threshold`` on a box in (μ, ω, ν, τ)
(:class:`snn_theory.certify.claims.Claim`); every map is decided by the one search
(:mod:`snn_theory.certify.search`) and checked by the one checker
(:mod:`snn_theory.certify.certificate.check`).
"""

from __future__ import annotations

import dataclasses

from snn_theory.certify.claims import (
    BUILTIN_CLAIMS,
    THEOREM_DOMAINS,
    THEOREM_GROUPS,
    Claim,
)
from snn_theory.certify.search.bounders import BoxBounder, ClosedFormBounder


# ----------------------------------------------------------------------------- claims
def theorem1_analogue(name_prefix: str = "theorem1_analogue") -> list[Claim]:
    """Theorem 1's statement for any activation on the paper's domain: S(H) < 1, and g maps
    the (μ, ν) box [−0.1, 0.1] × [0.8, 1.5] into itself (μ̃ ∈ [−0.1, 0.1], ν̃ ∈ [0.8, 1.5])."""
    d = THEOREM_DOMAINS["theorem1"]
    texts = (("contraction", "spectral_norm<1"), ("mean_lower", "mean>=-0.1"),
             ("mean_upper", "mean<=0.1"), ("variance_lower", "variance>=0.8"),
             ("variance_upper", "variance<=1.5"))
    return [Claim.parse(t, d, name=f"{name_prefix}.{n}") for n, t in texts]


def builtin_claims(theorem: str, bounder: BoxBounder | None = None) -> list[Claim]:
    """The built-in claim group ``theorem`` (1, appendix, 2, 3, all) under a map: for SELU's
    closed forms (any λ, α) the paper's claims; for another activation (``bounder`` None
    too), Theorem 1's SELU-specific bounds on μ̃, ν̃ become "g maps the box into itself"
    (:func:`theorem1_analogue`) and the other claims apply as they are.  A claim under
    another map is another claim: its name is the built-in one followed by the map's
    :meth:`BoxBounder.claim_suffix` (empty for the paper's λ01, α01), so two maps never share
    a claim name or a certificate file."""
    if isinstance(bounder, ClosedFormBounder):
        out = [BUILTIN_CLAIMS[n] for n in THEOREM_GROUPS[theorem]]
    else:
        out = []
        groups = ["1", "appendix", "2", "3"] if theorem == "all" else [theorem]
        for group in groups:
            if group == "1":
                out += theorem1_analogue()
            else:
                out += [BUILTIN_CLAIMS[n] for n in THEOREM_GROUPS[group]]
    suffix = "" if bounder is None else bounder.claim_suffix()
    return [dataclasses.replace(c, name=c.name + suffix) for c in out] if suffix else out

