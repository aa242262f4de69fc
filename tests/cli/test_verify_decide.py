"""The verifier decides what it is asked: effort follows the claim's margin, the enclosure is
refined only when asked and within the budget, and the state messages say what is true.

Independent checks: the spectral norm at sample points in mpmath (30 digits) lies inside the
reported enclosures; certificates are re-checked by the checker.
"""

from __future__ import annotations

import json
from fractions import Fraction

from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.claims import Domain
from snn_theory.certify.search.executors import Executor
from snn_theory.evaluate import backends
from tests.test_verify_decide import NAN_GRADIENT_BOX, mp_values

OMEGA = "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1"


def test_wide_margin_claim_is_decided_by_the_initial_grid(tmp_path, cli):
    code, out, err = cli(["verify-contraction", "--domain", OMEGA, "--claim", "spectral_norm<5",
                          "--jobs", "1", "--json", "--certificate-dir", str(tmp_path)])
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


def test_cheap_bound_decides_where_the_gradient_is_not_finite(tmp_path, cli, monkeypatch):
    from flint import ctx

    from snn_theory.certify import enclosure

    domain = Domain.parse(NAN_GRADIENT_BOX)
    monkeypatch.setattr(ctx, "prec", 64)  # restored after the test
    lam, alpha = backends.constants_function("arb")()
    balls = [enclosure.interval_ball(a, b) for a, b in domain.bounds]
    grad = backends.value_and_gradient("arb", "spectral_norm")(*balls, lam, alpha)[1:]
    assert not all(g.is_finite() for g in grad)  # the premise of this test
    code, out, err = cli(["verify-contraction", "--domain", NAN_GRADIENT_BOX, "--claim",
                          "spectral_norm<5", "--jobs", "1", "--json", "--certificate-dir",
                          str(tmp_path)])
    assert code == 0, err
    (entry,) = json.loads(out)["claims"]
    assert entry["holds"] is True and entry["boxes"] == 16
    upper = Fraction(entry["extremum"]["upper"])
    assert all(v <= upper for v in mp_values("spectral_norm", domain))
    assert check_certificate(entry["certificate"]).valid


def test_tolerance_refines_only_when_asked(tmp_path, cli):
    code, out, err = cli(["verify-contraction", "--domain", OMEGA, "--claim", "spectral_norm<5",
                          "--jobs", "1", "--json", "--tolerance", "1e-4", "--certificate-dir",
                          str(tmp_path)])
    assert code == 0, err
    (entry,) = json.loads(out)["claims"]
    lo, hi = Fraction(entry["extremum"]["lower"]), Fraction(entry["extremum"]["upper"])
    assert entry["tolerance_met"] is True and hi - lo <= Fraction(1, 10**4)
    assert entry["boxes"] > 16
    # the max of S on Omega (about 0.8976, at a corner) lies in the refined enclosure
    top = max(mp_values("spectral_norm", Domain.parse(OMEGA)))
    assert lo - Fraction(1, 10**20) <= top <= hi
    assert check_certificate(entry["certificate"]).valid


def test_budget_after_deciding_keeps_the_verdict(tmp_path, cli):
    """A tolerance the budget cannot reach: the claim is still proven (exit 0), the
    enclosure reached is reported with tolerance_met false, and the state is kept so that
    --resume with a larger budget continues the refinement."""
    args = ["--domain", OMEGA, "--claim", "spectral_norm<5", "--jobs", "1", "--json",
            "--tolerance", "1e-12", "--certificate-dir", str(tmp_path)]
    code, out, err = cli(["verify-contraction", *args, "--max-boxes", "40"])
    assert code == 0, err
    (entry,) = json.loads(out)["claims"]
    assert entry["holds"] is True and entry["tolerance_met"] is False
    assert entry["boxes"] == 40  # the budget, not more
    assert "box budget (40)" in entry["reason"]
    assert check_certificate(entry["certificate"]).valid
    assert len(list((tmp_path / ".state").glob("user.spectral_norm.*.json"))) == 1
    code, out, err = cli(["verify-contraction", *args, "--max-boxes", "60", "--resume"])
    assert code == 0 and "--resume" not in err  # resumed: nothing to say
    (entry,) = json.loads(out)["claims"]
    assert entry["boxes"] == 60 and entry["tolerance_met"] is False


def test_max_boxes_is_an_honest_budget(tmp_path, cli):
    base = ["--domain", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.02:0.16,tau=0.8:1.25", "--jobs", "1",
            "--json", "--claim", "variance_change>0.001", "--certificate-dir", str(tmp_path)]
    code, out, err = cli(["verify-contraction", *base, "--max-boxes", "5"])
    assert code == 2 and "below the 16 boxes of the initial grid" in err
    assert err.count("\n") == 1
    code, out, err = cli(["verify-contraction", *base, "--max-boxes", "30"])
    if code == 3:  # undecided: exactly the budget was used, and the message counts them
        (entry,) = json.loads(out)["claims"]
        assert entry["boxes"] == 30
        assert "of 30 boxes undecided" in entry["reason"]
    else:  # refuted (variance_change can fall below 0.001 near ν = 0.16)
        assert code == 1
        assert json.loads(out)["claims"][0]["boxes"] <= 30


def test_resume_without_state_says_so(tmp_path, cli):
    code, out, err = cli(["verify-contraction", "--domain", OMEGA, "--claim", "spectral_norm<5",
                          "--jobs", "1", "--resume", "--certificate-dir", str(tmp_path)])
    assert code == 0
    assert "no saved state; started from the initial grid" in err


def test_interrupt_before_anything_is_saved(tmp_path, cli, monkeypatch):
    """Ctrl-C while the first boxes are evaluated: nothing was written, and the message
    says so (it used to claim that finished work was saved)."""

    def interrupted(self, fn, tasks):
        raise KeyboardInterrupt

    monkeypatch.setattr(Executor, "map", interrupted)
    code, _, err = cli(["verify-contraction", "--domain", OMEGA, "--claim", "spectral_norm<1",
                        "--jobs", "1", "--certificate-dir", str(tmp_path)])
    assert code == 130 and err.count("\n") == 1
    assert "before anything was written" in err and "saved" not in err
    assert not (tmp_path / ".state").exists() or not any((tmp_path / ".state").iterdir())
