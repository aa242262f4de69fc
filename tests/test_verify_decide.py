"""The verifier decides what it is asked: effort follows the claim's margin, the enclosure is
refined only when asked and within the budget, and the state messages say what is true.

Independent checks: the spectral norm at sample points in mpmath (30 digits) lies inside the
reported enclosures; certificates are re-checked by the checker.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import mpmath
import pytest

from snn_theory import backends
from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.search import loop
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.loop import Settings, verify_claim
from snn_theory.certify.search.workers import Constants
from snn_theory.claims import THEOREM_DOMAINS, Claim, Domain
from snn_theory.cli import main

OMEGA = "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1"
#: A box of the wide domain where the gradient enclosure of S is not finite (a square root
#: of a ball containing 0), so only the cheap whole-box bound can decide it.
NAN_GRADIENT_BOX = "mu=-0.875:-0.75,omega=-0.25:-0.125,nu=1.4375:1.59375,tau=1.25:1.34375"


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["verify-contraction", *args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


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


def test_wide_margin_claim_is_decided_by_the_initial_grid(tmp_path, capsys):
    code, out, err = run_cli(["--domain", OMEGA, "--claim", "spectral_norm<5", "--jobs", "1",
                              "--json", "--certificate-dir", str(tmp_path)], capsys)
    assert code == 0, err
    (entry,) = json.loads(out)["claims"]
    assert entry["holds"] is True
    assert entry["boxes"] == entry["boxes_decided"] == 16  # the coarse grid, nothing split
    assert entry["tolerance"] is None and entry["tolerance_met"] is None
    lo, hi = Fraction(entry["extremum"]["lower"]), Fraction(entry["extremum"]["upper"])
    assert hi < 5
    values = mp_values("spectral_norm", Domain.parse(OMEGA))
    assert all(v <= hi for v in values)  # the upper end bounds every point value
    assert lo <= max(values) + Fraction(1, 10**20)  # the lower end is attained (a point value)
    assert check_certificate(entry["certificate"]).valid
    assert not (tmp_path / ".state").exists()  # a decided claim leaves no state behind


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


def test_cheap_bound_decides_where_the_gradient_is_not_finite(tmp_path, capsys, monkeypatch):
    from flint import ctx

    from snn_theory import enclosure

    domain = Domain.parse(NAN_GRADIENT_BOX)
    monkeypatch.setattr(ctx, "prec", 64)  # restored after the test
    lam, alpha = backends.constants_function("arb")()
    balls = [enclosure.interval_ball(a, b) for a, b in domain.bounds]
    grad = backends.value_and_gradient("arb", "spectral_norm")(*balls, lam, alpha)[1:]
    assert not all(g.is_finite() for g in grad)  # the premise of this test
    code, out, err = run_cli(["--domain", NAN_GRADIENT_BOX, "--claim", "spectral_norm<5",
                              "--jobs", "1", "--json", "--certificate-dir", str(tmp_path)],
                             capsys)
    assert code == 0, err
    (entry,) = json.loads(out)["claims"]
    assert entry["holds"] is True and entry["boxes"] == 16
    upper = Fraction(entry["extremum"]["upper"])
    assert all(v <= upper for v in mp_values("spectral_norm", domain))
    assert check_certificate(entry["certificate"]).valid


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

    from snn_theory import enclosure

    monkeypatch.setattr(ctx, "prec", 64)  # restored after the test
    lam_b, alpha_b = backends.constants_function("arb")()
    box = list(Domain.parse(NAN_GRADIENT_BOX).bounds)
    balls = [enclosure.interval_ball(a, b) for a, b in box]
    direct = backends.evaluator("arb", ("spectral_norm",))(*balls, lam_b, alpha_b)[0]
    cheap = enclosure.global_enclosure("spectral_norm", balls, lam_b, alpha_b, direct)
    assert cheap.is_finite() and enclosure.upper(cheap) <= enclosure.upper(direct)
    for v in mp_values("spectral_norm", Domain(tuple(box))):
        assert enclosure.lower(cheap) <= v <= enclosure.upper(cheap)


def test_tolerance_refines_only_when_asked(tmp_path, capsys):
    code, out, err = run_cli(["--domain", OMEGA, "--claim", "spectral_norm<5", "--jobs", "1",
                              "--json", "--tolerance", "1e-4",
                              "--certificate-dir", str(tmp_path)], capsys)
    assert code == 0, err
    (entry,) = json.loads(out)["claims"]
    lo, hi = Fraction(entry["extremum"]["lower"]), Fraction(entry["extremum"]["upper"])
    assert entry["tolerance_met"] is True and hi - lo <= Fraction(1, 10**4)
    assert entry["boxes"] > 16
    # the max of S on Omega (about 0.8976, at a corner) lies in the refined enclosure
    top = max(mp_values("spectral_norm", Domain.parse(OMEGA)))
    assert lo - Fraction(1, 10**20) <= top <= hi
    assert check_certificate(entry["certificate"]).valid


def test_budget_after_deciding_keeps_the_verdict(tmp_path, capsys):
    """A tolerance the budget cannot reach: the claim is still proven (exit 0), the
    enclosure reached is reported with tolerance_met false, and the state is kept so that
    --resume with a larger budget continues the refinement."""
    args = ["--domain", OMEGA, "--claim", "spectral_norm<5", "--jobs", "1", "--json",
            "--tolerance", "1e-12", "--certificate-dir", str(tmp_path)]
    code, out, err = run_cli([*args, "--max-boxes", "40"], capsys)
    assert code == 0, err
    (entry,) = json.loads(out)["claims"]
    assert entry["holds"] is True and entry["tolerance_met"] is False
    assert entry["boxes"] == 40  # the budget, not more
    assert "box budget (40)" in entry["reason"]
    assert check_certificate(entry["certificate"]).valid
    assert len(list((tmp_path / ".state").glob("user.spectral_norm.*.json"))) == 1
    code, out, err = run_cli([*args, "--max-boxes", "60", "--resume"], capsys)
    assert code == 0 and "--resume" not in err  # resumed: nothing to say
    (entry,) = json.loads(out)["claims"]
    assert entry["boxes"] == 60 and entry["tolerance_met"] is False


def test_refinement_stops_when_it_stalls(monkeypatch):
    """Constants given as an interval bound the enclosure's width from below: the search
    stops refining once the width no longer shrinks, instead of running to the budget."""
    monkeypatch.setattr(loop, "_STALL_BOXES", 50)
    claim = Claim.parse("variance<=3", THEOREM_DOMAINS["theorem1"])
    r = verify_claim(claim, Settings(jobs=1, tolerance=Fraction(1, 10**6),
                                     constants=Constants.parse("1.0:1.1", None)))
    assert r.verdict == "holds" and r.tolerance_met is False
    assert "stalled" in r.reason and len(r.leaves) < 2000
    # the width is about the effect of the λ interval: far above the tolerance
    assert r.extremum[1] - r.extremum[0] > Fraction(1, 10)


def test_max_boxes_is_an_honest_budget(tmp_path, capsys):
    base = ["--domain", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.02:0.16,tau=0.8:1.25", "--jobs", "1",
            "--json", "--claim", "variance_change>0.001", "--certificate-dir", str(tmp_path)]
    code, out, err = run_cli([*base, "--max-boxes", "5"], capsys)
    assert code == 2 and "below the 16 boxes of the initial grid" in err
    assert err.count("\n") == 1
    code, out, err = run_cli([*base, "--max-boxes", "30"], capsys)
    if code == 3:  # undecided: exactly the budget was used, and the message counts them
        (entry,) = json.loads(out)["claims"]
        assert entry["boxes"] == 30
        assert "of 30 boxes undecided" in entry["reason"]
    else:  # refuted (variance_change can fall below 0.001 near ν = 0.16)
        assert code == 1
        assert json.loads(out)["claims"][0]["boxes"] <= 30


def test_resume_without_state_says_so(tmp_path, capsys):
    code, out, err = run_cli(["--domain", OMEGA, "--claim", "spectral_norm<5", "--jobs", "1",
                              "--resume", "--certificate-dir", str(tmp_path)], capsys)
    assert code == 0
    assert "no saved state; started from the initial grid" in err


def test_interrupt_before_anything_is_saved(tmp_path, capsys, monkeypatch):
    """Ctrl-C while the first boxes are evaluated: nothing was written, and the message
    says so (it used to claim that finished work was saved)."""

    def interrupted(self, fn, tasks):
        raise KeyboardInterrupt

    monkeypatch.setattr(Executor, "map", interrupted)
    code, _, err = run_cli(["--domain", OMEGA, "--claim", "spectral_norm<1", "--jobs", "1",
                            "--certificate-dir", str(tmp_path)], capsys)
    assert code == 130 and err.count("\n") == 1
    assert "before anything was written" in err and "saved" not in err
    assert not (tmp_path / ".state").exists() or not any((tmp_path / ".state").iterdir())


def test_interrupt_after_progress_names_the_saved_file(tmp_path):
    calls = {"n": 0}

    def progress(*_):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    claim = Claim.parse("spectral_norm<1", THEOREM_DOMAINS["theorem1"])
    with pytest.raises(loop.Interrupted) as exc:
        verify_claim(claim, Settings(jobs=1, state_dir=tmp_path), progress=progress)
    assert exc.value.saved == tmp_path / "user.json" and exc.value.saved.exists()
    saved = json.loads(exc.value.saved.read_text())
    assert len(saved["boxes"]) == 16 + 3  # the grid plus one box per finished round
