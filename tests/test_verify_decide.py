"""The verifier decides what it is asked (library side): effort follows the claim's margin,
refinement stops when the enclosure stalls, an interrupt after progress names the saved file,
and the Frobenius bound brackets the spectral norm.

Independent checks: the spectral norm at sample points in mpmath (30 digits) lies inside the
reported enclosures.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import mpmath
import pytest

from snn_theory.certify.claims import THEOREM_DOMAINS, Claim, Domain
from snn_theory.certify.search import loop
from snn_theory.certify.search.bounders import ClosedFormBounder, Constants
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.settings import Settings
from snn_theory.evaluate import backends

#: A box of the wide domain where the gradient enclosure of S is not finite (a square root
#: of a ball containing 0), so only the cheap whole-box bound can decide it.
NAN_GRADIENT_BOX = "mu=-0.875:-0.75,omega=-0.25:-0.125,nu=1.4375:1.59375,tau=1.25:1.34375"


def frac(x: mpmath.mpf) -> Fraction:
    sign, man, exp, _ = x._mpf_
    return (-1 if sign else 1) * Fraction(int(man)) * Fraction(2) ** int(exp)


def mp_values(quantity: str, domain: Domain) -> list[Fraction]:
    """The quantity at the 16 corners and the centre of ``domain``, mpmath at 30 digits
    (exactly as rationals; the error is below 1e-28)."""
    points = [list(c) for c in itertools.product(*domain.bounds)]
    points.append([(a + b) / 2 for a, b in domain.bounds])
    with mpmath.workdps(30):
        lam, alpha = backends.constants_function("mpmath")()
        f = backends.evaluator("mpmath", (quantity,))
        return [frac(f(*[mpmath.mpf(x.numerator) / x.denominator for x in p], lam, alpha)[0])
                for p in points]


def test_effort_follows_the_margin():
    """The same quantity on the same domain: a wide margin costs the grid, a thin one more."""
    omega = THEOREM_DOMAINS["theorem1"]
    wide = verify_claim(Claim.parse("spectral_norm<5", omega), Settings(jobs=1))
    thin = verify_claim(Claim.parse("spectral_norm<1", omega), Settings(jobs=1))
    assert wide.verdict == thin.verdict == "holds"
    assert len(wide.leaves) == 16 < len(thin.leaves)
    # the thin claim's enclosure, reached while deciding: below 1, above the mpmath values
    assert thin.extremum[1] < 1
    assert thin.extremum[1] >= max(mp_values("spectral_norm", omega))


def test_frobenius_bound_brackets_the_spectral_norm(monkeypatch):
    """‖H‖_F/√2 ≤ S ≤ ‖H‖_F, checked against S and H in mpmath at sample points."""
    with mpmath.workdps(30):
        lam, alpha = backends.constants_function("mpmath")()
        f = backends.evaluator("mpmath", ("spectral_norm", "H11", "H12", "H21", "H22"))
        for point in [(0.1, -0.1, 0.8, 1.1), (-0.9, 0.5, 2.5, 0.6), (0.7, -0.8, 0.6, 1.9)]:
            s, *h = f(*map(mpmath.mpf, point), lam, alpha)
            fro = mpmath.sqrt(sum(x**2 for x in h))
            assert fro / mpmath.sqrt(2) <= s <= fro
    # and the enclosure the search uses contains S at the corners of a box of the wide domain
    from flint import ctx

    from snn_theory.certify import enclosure

    monkeypatch.setattr(ctx, "prec", 64)  # restored after the test
    lam_b, alpha_b = backends.constants_function("arb")()
    box = list(Domain.parse(NAN_GRADIENT_BOX).bounds)
    balls = [enclosure.interval_ball(a, b) for a, b in box]
    direct = backends.evaluator("arb", ("spectral_norm",))(*balls, lam_b, alpha_b)[0]
    cheap = enclosure.global_enclosure("spectral_norm", balls, lam_b, alpha_b, direct)
    assert cheap.is_finite() and enclosure.upper(cheap) <= enclosure.upper(direct)
    for v in mp_values("spectral_norm", Domain(tuple(box))):
        assert enclosure.lower(cheap) <= v <= enclosure.upper(cheap)


def test_refinement_stops_when_it_stalls(monkeypatch):
    """Constants given as an interval bound the enclosure's width from below: the search
    stops refining once the width no longer shrinks, instead of running to the budget."""
    monkeypatch.setattr(loop, "_STALL_BOXES", 50)
    claim = Claim.parse("variance<=3", THEOREM_DOMAINS["theorem1"])
    r = verify_claim(claim, Settings(jobs=1, tolerance=Fraction(1, 10**6),
                                     bounder=ClosedFormBounder(Constants.parse("1.0:1.1", None))))
    assert r.verdict == "holds" and r.tolerance_met is False
    assert "stalled" in r.reason and len(r.leaves) < 2000
    # the width is about the effect of the λ interval: far above the tolerance
    assert r.extremum[1] - r.extremum[0] > Fraction(1, 10)


def test_interrupt_after_progress_names_the_saved_file(tmp_path):
    calls = {"n": 0}

    def progress(*_):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    claim = Claim.parse("spectral_norm<1", THEOREM_DOMAINS["theorem1"])
    with pytest.raises(loop.Interrupted) as exc:
        verify_claim(claim, Settings(jobs=1, state_dir=tmp_path), progress=progress)
    assert exc.value.saved == (tmp_path / "user.json",) and exc.value.saved[0].exists()
    assert "19 boxes of user" in exc.value.summary  # says exactly what was saved
    saved = json.loads(exc.value.saved[0].read_text())
    assert len(saved["boxes"]) == 16 + 3  # the grid plus one box per finished round
