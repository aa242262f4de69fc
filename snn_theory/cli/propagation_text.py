"""What ``propagate`` and ``propagate --network`` print alike: the ball formatter, the phase,
the c-map's fixed points, the proof that there are no others and the verdict of ``--claim``
(as JSON, and the lines under the table).  One layer and a network differ only in their
quantities; these parts are the same result read the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flint import arb

from snn_theory.certify.propagation.cmap import NOT_EXCLUDED
from snn_theory.exact import SHORT_DIGITS, ball_text


def depth_scale_note(stable: bool | None) -> str:
    """Why a c-map fixed point has no depth scale (ξ_c = −1/ln χ_c needs 0 < χ_c < 1)."""
    if stable is False:
        return "none (unstable: chi_c > 1, perturbations grow)"
    if stable is None:
        return "none (undecided: the enclosure of chi_c contains 1)"
    return "none (chi_c <= 0 not excluded)"


def ball_formatter(digits: int, short: bool) -> Callable[[arb | None], str | None]:
    """Balls as text: ``digits`` digits with their radius (JSON), or (``short``, the table)
    an enclosure rounded outward to :data:`SHORT_DIGITS` significant digits."""

    def b(x: arb | None) -> str | None:
        if x is None:
            return None
        if short:
            return ball_text(x, SHORT_DIGITS) if x.is_finite() else "[-inf, +inf]"
        return x.str(digits, radius=True)

    return b


def cmap_json(r: Any, b: Callable[[arb | None], str | None]) -> dict[str, Any]:
    """The ``phase``, ``correlation_fixed_points`` and ``no_other_fixed_points`` entries of a
    propagation result (one layer's or a network's: both carry ``phase``, ``fixed_points``,
    ``exclusions`` and ``complete``)."""
    return {
        "phase": {"phase": r.phase.phase, "rate": b(r.phase.rate),
                  "certificate": r.phase.certificate},
        "correlation_fixed_points": [
            {"c": b(f.value), "slope": b(f.slope), "stable": f.stable,
             "depth_scale": b(f.depth_scale),
             "depth_scale_note": depth_scale_note(f.stable) if f.depth_scale is None else "",
             "certificate": f.how}
            for f in r.fixed_points
        ],
        "no_other_fixed_points": {
            "proven": r.complete,
            "pieces": [{"low": e.low, "high": e.high, "how": e.how} for e in r.exclusions],
        },
    }


def claim_json(claim: str, verdict: tuple[bool | None, str]) -> dict[str, Any]:
    """The ``claim`` entry: the phase claimed, whether it holds, and the statement proven."""
    return {
        "claim": claim,
        "holds": verdict[0],
        "status": {True: "proven", False: "refuted", None: "undecided"}[verdict[0]],
        "certificate": verdict[1],
    }


def print_phase(out: dict[str, Any], whose: str) -> None:
    """The phase and the no-other-fixed-points lines under the table (``whose``: "the" or
    "the network's"), counting only the pieces actually excluded."""
    from snn_theory.cli.console import print_wrapped

    ph = out["phase"]
    print_wrapped(f"phase: {ph['phase']} — {ph['certificate']}")
    nf = out["no_other_fixed_points"]
    print_wrapped(("proven" if nf["proven"] else "NOT proven")
                  + f": no other fixed points of {whose} c-map in [-1, 1] "
                  f"({sum(p['how'] != NOT_EXCLUDED for p in nf['pieces'])} pieces excluded"
                  f" of {len(nf['pieces'])})")


def print_claim(out: dict[str, Any]) -> None:
    """The verdict line of ``--claim``, when there is one."""
    from snn_theory.cli.console import print_wrapped

    if "claim" in out:
        cl = out["claim"]
        print_wrapped(f"claim '{cl['claim']}': {cl['status'].upper()} — {cl['certificate']}")


__all__ = ["ball_formatter", "claim_json", "cmap_json", "depth_scale_note", "print_claim",
           "print_phase"]
