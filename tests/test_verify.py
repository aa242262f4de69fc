"""Tests of the branch-and-bound verifier (snn_theory/certify/search/) and ``verify-contraction``.

Independent checks: mpmath at 30 digits at the domain's corners and at float local optima
(scipy) must lie inside the certified extremum enclosures; refutations carry counterexamples
re-checked in mpmath and by the certificate checker.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from scipy.optimize import minimize

from snn_theory.certify.claims import BUILTIN_CLAIMS, THEOREM_DOMAINS, Claim, Domain
from snn_theory.certify.search.bounders import ClosedFormBounder, Constants
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.loop import Interrupted, verify_claim
from snn_theory.certify.search.settings import Settings
from snn_theory.evaluate import backends

#: The paper's printed bounds (docs/mathematics.md §4) and which side of them is claimed.
PAPER_BOUNDS = {
    "theorem1.mean_lower": Fraction("-0.03106"),
    "theorem1.mean_upper": Fraction("0.06773"),
    "theorem1.variance_lower": Fraction("0.80009"),
    "theorem1.variance_upper": Fraction("1.48617"),
}


def mp_value(quantity: str, point, lam=None, alpha=None) -> mpmath.mpf:
    with mpmath.workdps(30):
        lam01, alpha01 = backends.constants_function("mpmath")()
        lam = lam01 if lam is None else mpmath.mpf(lam)
        alpha = alpha01 if alpha is None else mpmath.mpf(alpha)
        f = backends.evaluator("mpmath", (quantity,))
        return f(*[mpmath.mpf(Fraction(x).numerator) / Fraction(x).denominator for x in point],
                 lam, alpha)[0]


def frac(x: mpmath.mpf) -> Fraction:
    """An mpf exactly as a Fraction (the sign read from _mpf_: man_exp drops it)."""
    sign, man, exp, _ = x._mpf_  # (not mpmath.mpf(x): that rounds to the context precision)
    return (-1 if sign else 1) * Fraction(int(man)) * Fraction(2) ** int(exp)


def independent_extremum(claim: Claim) -> tuple[mpmath.mpf, list]:
    """Best value over the corners (mpmath) and float local optimisation from the corners
    (scipy L-BFGS-B on the numpy formulas, then mpmath at the optimum): a point value, i.e. a
    lower bound of the max (upper bound of the min)."""
    side = 1 if claim.kind == "max" else -1
    bounds = [(float(a), float(b)) for a, b in claim.domain.bounds]
    f_np = backends.evaluator("numpy", (claim.quantity,))
    lam_f, alpha_f = (float(x) for x in backends.constants_function("mpmath")())
    candidates = [list(c) for c in itertools.product(*claim.domain.bounds)]
    starts = sorted(candidates, key=lambda c: -side * float(mp_value(claim.quantity, c)))[:3]
    for start in starts:
        res = minimize(lambda x: -side * float(f_np(*x, lam_f, alpha_f)[0]),
                       np.array([float(x) for x in start]), method="L-BFGS-B", bounds=bounds)
        x = [min(max(Fraction(float(v)), Fraction(a)), Fraction(b))
             for v, (a, b) in zip(res.x, claim.domain.bounds)]
        candidates.append(x)
    values = [(mp_value(claim.quantity, c), c) for c in candidates]
    return max(values, key=lambda vc: side * vc[0])


@pytest.fixture(scope="module")
def builtin_results():
    """Every built-in claim, --grid coarse, enclosures refined to 1e-6, once (2 processes)."""
    settings = Settings(grid="coarse", jobs=2, tolerance=Fraction(1, 10**6))
    with Executor(2) as runner:
        return {name: verify_claim(claim, settings, runner)
                for name, claim in BUILTIN_CLAIMS.items()}


def test_builtin_claims_coarse(builtin_results):
    total = sum(len(r.leaves) for r in builtin_results.values())
    for name, r in builtin_results.items():
        expected = "refuted" if name == "theorem1.mean_lower" else "holds"
        assert r.verdict == expected, (name, r.reason)
        lo, hi = r.extremum
        assert lo <= hi and hi - lo <= Fraction(1, 10**6), name
    assert total > 0


@pytest.mark.parametrize("name", list(BUILTIN_CLAIMS))
def test_extremum_contains_independent_values(builtin_results, name):
    r = builtin_results[name]
    claim = BUILTIN_CLAIMS[name]
    lo, hi = r.extremum
    value = frac(independent_extremum(claim)[0])
    slack = Fraction(1, 10**25)  # mpmath at 30 digits
    if claim.kind == "max":
        # every point value is ≤ the max ≤ upper; our lower end is a point value ≤ max, and the
        # independent search reaches the same maximum to within the tolerance
        assert value <= hi + slack
        assert value >= lo - Fraction(1, 10**6)
    else:
        assert value >= lo - slack
        assert value <= hi + Fraction(1, 10**6)


def test_paper_bounds_on_proven_side(builtin_results):
    for name, printed in PAPER_BOUNDS.items():
        r = builtin_results[name]
        claim = BUILTIN_CLAIMS[name]
        lo, hi = r.extremum
        if r.verdict == "holds":
            assert (hi <= printed) if claim.kind == "max" else (lo >= printed)
    for name in ("theorem1.contraction", "appendix.contraction_wide_tau"):
        assert builtin_results[name].extremum[1] < 1
    assert builtin_results["theorem2.variance_decreases"].extremum[1] < 0
    assert builtin_results["theorem3a.variance_increases"].extremum[0] > 0
    assert builtin_results["theorem3b.variance_increases"].extremum[0] > 0


def test_paper_mean_lower_bound_is_rounded_the_wrong_way(builtin_results):
    """The paper's μ̃ ≥ −0.03106 fails at a corner of Ω by 5·10⁻⁷ (mpmath, 30 digits)."""
    r = builtin_results["theorem1.mean_lower"]
    point, (lo, hi) = r.counterexample
    assert hi < Fraction("-0.03106")
    assert frac(mp_value("mean", point)) < Fraction("-0.03106")
    assert all(a <= x <= b for x, (a, b) in zip(point, THEOREM_DOMAINS["theorem1"].bounds))


FALSE_CLAIMS = [
    ("reversed theorem 3", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.02:0.16,tau=0.8:1.25",
     "variance_change<0", {}),
    ("theorem 2 down to nu=0.9", "mu=-1:1,omega=-0.1:0.1,nu=0.9:16,tau=0.8:1.25",
     "variance_change<0", {}),
    ("contraction tau up to 1.6", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.6",
     "spectral_norm<1", {}),
    ("variance upper with lambda=1.07", "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1",
     "variance<=1.48617", {"lam": "1.07"}),
]


@pytest.mark.parametrize("label,domain,text,constants", FALSE_CLAIMS)
def test_false_claims_refuted(tmp_path, label, domain, text, constants):
    from snn_theory.certify.certificate.check import check_certificate
    from snn_theory.certify.certificate.io import write_certificate

    claim = Claim.parse(text, Domain.parse(domain))
    consts = Constants.parse(constants.get("lam"), constants.get("alpha"))
    r = verify_claim(claim, Settings(jobs=1, bounder=ClosedFormBounder(consts), max_boxes=4000))
    assert r.verdict == "refuted", label
    point, (lo, hi) = r.counterexample
    assert all(a <= x <= b for x, (a, b) in zip(point, claim.domain.bounds))
    value = frac(mp_value(claim.quantity, point, constants.get("lam")))  # α stays α01
    assert not claim.satisfied_by(value)
    slack = Fraction(1, 10**25)
    assert lo - slack <= value <= hi + slack
    if label.startswith("contraction"):
        # S ≈ 1.19 at μ = ω = −0.1, ν = 0.8, τ = 1.6 lies below the certified max's upper end
        s = frac(mp_value("spectral_norm", ["-0.1", "-0.1", "0.8", "1.6"]))
        assert abs(s - Fraction("1.19")) < Fraction(1, 100)
        assert s <= r.extremum[1] + slack
    report = check_certificate(write_certificate(tmp_path, r.certificate_data()))
    assert report.valid, report.message


def test_variance_lower_with_lambda_107_still_holds():
    claim = BUILTIN_CLAIMS["theorem1.variance_lower"]
    r = verify_claim(claim, Settings(jobs=1, bounder=ClosedFormBounder(Constants.parse("1.07", None))))
    assert r.verdict == "holds"


def test_resume_after_interrupt(tmp_path):
    claim = BUILTIN_CLAIMS["theorem1.contraction"]
    rounds_full = {"n": 0}
    full = verify_claim(claim, Settings(jobs=1, tolerance=Fraction(1)),
                        progress=lambda *_: rounds_full.__setitem__("n", rounds_full["n"] + 1))
    settings = Settings(jobs=1, tolerance=Fraction(1), state_dir=tmp_path, save_every=1e9)
    calls = {"n": 0}

    def interrupt(*_):
        calls["n"] += 1
        if calls["n"] == 150:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        verify_claim(claim, settings, progress=interrupt)
    state = tmp_path / "theorem1.contraction.json"
    saved = json.loads(state.read_text())  # saved on the interrupt (save_every is huge)
    assert len(saved["boxes"]) == 16 + 150  # the grid, plus one box per round
    settings.resume = True
    rounds = {"n": 0}
    resumed = verify_claim(claim, settings,
                           progress=lambda *_: rounds.__setitem__("n", rounds["n"] + 1))
    assert resumed.verdict == full.verdict == "holds"
    assert resumed.extremum[1] == full.extremum[1]
    assert sorted(map(str, (leaf.box for leaf in resumed.leaves))) == \
        sorted(map(str, (leaf.box for leaf in full.leaves)))
    assert rounds["n"] + 150 == rounds_full["n"]  # no finished work redone
    assert resumed.resume == "resumed"
    assert not state.exists() and not tmp_path.exists()  # a decided claim leaves no state
    again = verify_claim(claim, settings)  # --resume with nothing saved: says so, starts afresh
    assert again.resume == "no state"
    assert again.verdict == "holds" and again.extremum == resumed.extremum
    assert len(again.leaves) == len(resumed.leaves)


def test_resume_reproves_a_tampered_state(tmp_path):
    """The resume state is a cache: an edited bound in it does not survive a resume."""
    claim = BUILTIN_CLAIMS["theorem1.mean_upper"]
    first = verify_claim(claim, Settings(jobs=1))

    def interrupt(*_):
        raise KeyboardInterrupt

    with pytest.raises(Interrupted) as exc:
        verify_claim(claim, Settings(jobs=1, state_dir=tmp_path), progress=interrupt)
    (state_file,) = tmp_path.glob("*.json")
    assert exc.value.saved == (state_file,)
    state = json.loads(state_file.read_text())
    state["done"] = False
    for entry in state["boxes"]:
        entry[1] = "1/1000"  # a false, too small upper bound on the mean
    state_file.write_text(json.dumps(state))
    resumed = verify_claim(claim, Settings(jobs=1, state_dir=tmp_path, resume=True))
    assert resumed.verdict == first.verdict == "holds"
    assert resumed.extremum == first.extremum
    assert max(leaf.bound for leaf in resumed.leaves) > Fraction(1, 1000)
