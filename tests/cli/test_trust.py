"""What the checker and the verifier print is exactly what was proven.

Regression tests, through the CLI, for the layer around the mathematics: rich markup in
claim names, look-alike names of built-in theorems, tampered resume states, user constants
and the global precision, unverified certificate fields, outward rounding of printed
decimals, certificate files shared by two claims, completeness near the threshold, and the
paper method's wording and cache.  Every certificate here is written by this code (none is
read from proofs/).
"""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
from flint import ctx

from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.certificate.io import checksum, read_certificate
from snn_theory.certify.claims import THEOREM_DOMAINS
from snn_theory.evaluate import backends

OMEGA = "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1"  # Theorem 1's domain


def verify_json(args: list[str], cli, directory: Path) -> tuple[int, dict]:
    code, out, err = cli(["verify-contraction", *args, "--jobs", "1", "--json", "--certificate-dir",
                          str(directory)])
    assert "Traceback" not in err
    return code, (json.loads(out)["claims"][0] if out.strip() else {"err": err})


def check_json(paths: list, cli) -> tuple[int, list[dict]]:
    code, out, _ = cli(["check-certificate", "--jobs", "1", "--json", *map(str, paths)])
    return code, json.loads(out)["certificates"]


def rewrite(path: Path, content: dict, name: str = "edited.cert.json") -> Path:
    content = copy.deepcopy(content)
    content["checksum"] = checksum(content)
    out = path.parent / name
    out.write_text(json.dumps(content))
    return out


@pytest.fixture(scope="module")
def mean_upper(tmp_path_factory, cli) -> Path:
    """A genuine certificate of mean ≤ 0.07 on Ω (true: max μ̃ ≈ 0.06772), user claim."""
    d = tmp_path_factory.mktemp("mean")
    code, _, _ = cli(["verify-contraction", "--domain", OMEGA, "--claim", "mean<=0.07", "--name",
                      "mean.below", "--jobs", "1", "--json", "--certificate-dir", str(d)])
    assert code == 0
    return d / "mean.below.cert.json"


# ------------------------------------------------------------------ 1. rich markup, constants
def test_table_prints_renamed_claims_and_constants(tmp_path, cli):
    code, out, err = cli(["verify-contraction", "--theorem", "2", "--lam", "1.0506", "--jobs", "1",
                          "--certificate-dir", str(tmp_path)])
    assert code == 0, err
    assert "theorem2.variance_decreases[lam=1.0506,alpha=alpha01]" in out
    assert "λ ∈ [1.0506, 1.0506]" in out  # the constants used are shown
    code, out, _ = cli(["verify-contraction", "--theorem", "2", "--jobs", "1", "--certificate-dir",
                        str(tmp_path)])
    assert code == 0 and "λ01, α01 (closed forms)" in out
    # any name that looks like markup is printed as it is
    code, out, err = cli(["verify-contraction", "--domain", OMEGA, "--claim", "mean<=0.07",
                          "--name", "m[bold]x[/bold][link=y]", "--jobs", "1", "--certificate-dir",
                          str(tmp_path)])
    assert code == 0, err
    assert "m[bold]x[/bold][link=y]" in out and "mean <= 0.07" in out


# ------------------------------------------------------------------ 2. identity by statement
@pytest.mark.parametrize("name", ["theorem1.mean_upper ", "theorem1.mean_upper\u200b",
                                  "theorem1.mean_upper\u00a0", "THEOREM1.Mean_Upper",
                                  "theorem1.mean\u2010upper"])
def test_look_alike_of_a_builtin_name_is_rejected(mean_upper, cli, name):
    content = read_certificate(mean_upper)
    content["claim"]["name"] = name  # a true statement, but not the built-in one (0.07)
    code, (report,) = check_json([rewrite(mean_upper, content)], cli)
    assert code == 1 and not report["valid"]
    assert "name" in report["message"]


def test_builtin_is_decided_by_the_statement(tmp_path, cli, mean_upper):
    # the built-in statement under a user name *is* the built-in theorem
    code, entry = verify_json(["--domain", OMEGA, "--claim", "mean<=0.06773"], cli, tmp_path)
    assert code == 0
    code, (report,) = check_json([entry["certificate"]], cli)
    assert code == 0 and report["statement"]["builtin"] == "theorem1.mean_upper"
    # another statement is a user claim, and the checker prints all of it
    code, (report,) = check_json([mean_upper], cli)
    st_ = report["statement"]
    assert code == 0 and st_["builtin"] is None
    assert (st_["quantity"], st_["relation"], st_["threshold"]) == ("mean", "<=", "0.07")
    assert st_["domain"] == THEOREM_DOMAINS["theorem1"].to_json()
    assert st_["constants"]["source"] == "closed-form"
    with mpmath.workdps(40):
        lam01 = mpmath.nstr(backends.constants_function("mpmath")()[0], 35)
    lo, hi = (Fraction(x) for x in st_["constants"]["lam"])
    assert lo <= Fraction(lam01) <= hi and hi - lo < Fraction(1, 10**17)
    code, out, _ = cli(["check-certificate", "--jobs", "1", str(mean_upper)])
    assert out.startswith("VALID ")  # one paragraph, wrapped for the terminal
    line = " ".join(out.split())
    for text in ("VALID", "HOLDS", "mean <= 0.07", "mu ∈ [-0.1, 0.1]", "tau ∈ [0.95, 1.1]",
                 "constants closed-form", "lam ∈ [1.0507009873554804, 1.0507009873554805]",
                 "user claim mean.below", "boxes", "max ∈ ["):
        assert text in line, text


def test_bad_names_are_refused_by_the_cli(tmp_path, cli):
    for name in ("has space", "theorem1.mean_upper", "x\u200by", "Ünïcode"):
        code, out, err = cli(["verify-contraction", "--domain", OMEGA, "--claim", "mean<=0.07",
                              "--name", name, "--certificate-dir", str(tmp_path)])
        assert code == 2 and err.count("\n") == 1 and "error:" in err, name


# ------------------------------------------------------------------ 3. tampered resume state
def test_resume_state_point_outside_the_domain_is_not_a_counterexample(tmp_path, cli):
    args = ["--domain", OMEGA, "--claim", "spectral_norm<1", "--name", "t1c"]
    code, first = verify_json([*args, "--max-boxes", "40"], cli, tmp_path)
    assert code == 3  # budget exhausted: the state is kept for --resume
    state_file = tmp_path / ".state" / "t1c.json"
    state = json.loads(state_file.read_text())
    point = ["-1/10", "-1/10", "4/5", "23/16"]  # τ = 1.4375, outside Ω, where S > 1
    outside = [[x, x] for x in point]
    for key in ("best", "counterexample"):
        entry = list(state["boxes"][0])
        entry[0] = entry[2] = outside
        entry[5] = point
        entry[6] = ["2", "3"]
        state[key] = entry
    state_file.write_text(json.dumps(state))
    code, resumed = verify_json([*args, "--resume"], cli, tmp_path)
    assert code == 0 and resumed["holds"] is True and resumed["counterexample"] is None
    lo, hi = (Fraction(resumed["extremum"][k]) for k in ("lower", "upper"))
    # max S on Ω = 0.8976083584… (at μ = ω = −0.1, ν = 0.8, τ = 1.1; see test_certificate):
    # the decided enclosure contains it, and proves S < 1
    assert lo <= Fraction("0.89760835") and Fraction("0.89760836") <= hi < 1
    code, (report,) = check_json([resumed["certificate"]], cli)
    assert code == 0


# ------------------------------------------------------------------ 4. user constants
def test_holding_certificate_with_non_dyadic_constants(tmp_path, cli):
    code, entry = verify_json(["--domain", OMEGA, "--claim", "mean<=0.07", "--lam", "1.0506",
                               "--alpha", "1.6733"], cli, tmp_path)
    assert code == 0 and entry["holds"] is True
    code, (report,) = check_json([entry["certificate"]], cli)
    assert code == 0, report["message"]
    assert entry["constants"]["exact"] == {"lam": ["1.0506", "1.0506"],
                                           "alpha": ["1.6733", "1.6733"]}
    # the checker's verdict does not depend on the caller's global precision
    old = ctx.prec
    try:
        for prec in (20, 53, 300):
            ctx.prec = prec
            assert check_certificate(entry["certificate"]).valid, prec
    finally:
        ctx.prec = old


# ------------------------------------------------------------------ 5. unverified fields
def test_duplicate_keys_are_rejected(mean_upper, cli):
    text = mean_upper.read_text()
    # a first "claim" that says something else; json.loads would silently keep the last
    forged = text.replace('"boxes":', '"claim": {"name": "theorem1.mean_upper"},\n "boxes":', 1)
    path = mean_upper.parent / "dup.cert.json"
    path.write_text(forged)
    code, (report,) = check_json([path], cli)
    assert code == 1 and "duplicate key 'claim'" in report["message"]


@pytest.mark.parametrize("where,key,value", [
    ((), "stats", {"boxes": 1}), ((), "note", "trust me"), (("witness",), "value", ["0", "1"]),
    (("claim",), "comment", "x"), (("constants",), "digits", "17"), (("extremum",), "exact", "1"),
])
def test_unknown_keys_are_rejected(mean_upper, cli, where, key, value):
    content = read_certificate(mean_upper)
    target = content
    for k in where:
        target = target[k]
    target[key] = value
    code, (report,) = check_json([rewrite(mean_upper, content)], cli)
    assert code == 1 and f"unknown key {key!r}" in report["message"]


def test_printed_values_are_recomputed(mean_upper, cli):
    """The extremum printed by the checker is its own; a stored one that is looser than the
    computation (still true) is refused, as is a weaker stored box bound."""
    content = read_certificate(mean_upper)
    edited = copy.deepcopy(content)
    edited["extremum"]["upper"] = "0.0699"
    code, (report,) = check_json([rewrite(mean_upper, edited)], cli)
    assert code == 1 and "extremum" in report["message"]
    edited = copy.deepcopy(content)
    k = min(range(len(edited["boxes"])), key=lambda i: Fraction(edited["boxes"][i][4]))
    weaker = (Fraction(edited["boxes"][k][4]) + Fraction(content["extremum"]["upper"])) / 2
    edited["boxes"][k][4] = str(weaker)  # true (weaker) but not what was computed
    code, (report,) = check_json([rewrite(mean_upper, edited)], cli)
    assert code == 1 and "not the fresh bound" in report["message"]
    code, (report,) = check_json([mean_upper], cli)
    exact = [Fraction(x) for x in report["extremum"]["exact"]]
    assert exact == [Fraction(content["extremum"][k]) for k in ("lower", "upper")]
    assert Fraction(report["extremum"]["lower"]) <= exact[0] <= exact[1] <= Fraction(
        report["extremum"]["upper"])


def test_tiny_extremum_is_printed_outward(tmp_path, cli):
    """|max| ≈ 1e-31: the printed ends enclose the certified exact ones."""
    domain = "mu=-0.1:0.1,omega=1e-31:2e-31,nu=0.8:1.5,tau=0.95:1.1"
    code, entry = verify_json(["--domain", domain, "--claim", "J11<=1e-29"], cli, tmp_path)
    assert code == 0, entry
    content = read_certificate(entry["certificate"])
    exact = [Fraction(content["extremum"][k]) for k in ("lower", "upper")]
    printed = [Fraction(entry["extremum"][k]) for k in ("lower", "upper")]
    assert 0 < printed[0] <= exact[0] <= exact[1] <= printed[1] < Fraction(1, 10**29)


# ------------------------------------------------------------------ 7. one file per statement
def test_user_claims_never_share_or_overwrite_a_certificate(tmp_path, cli):
    code, a = verify_json(["--domain", OMEGA, "--claim", "mean<=0.07"], cli, tmp_path)
    code_b, b = verify_json(["--domain", OMEGA, "--claim", "mean<=0.08"], cli, tmp_path)
    assert code == code_b == 0 and a["name"] != b["name"] and a["certificate"] != b["certificate"]
    assert check_certificate(a["certificate"]).valid and check_certificate(b["certificate"]).valid
    code, _ = verify_json(["--domain", OMEGA, "--claim", "mean<=0.07", "--name", "mine"], cli,
                          tmp_path)
    before = (tmp_path / "mine.cert.json").read_bytes()
    code, out, err = cli(["verify-contraction", "--domain", OMEGA, "--claim", "mean<=0.09",
                          "--name", "mine", "--certificate-dir", str(tmp_path)])
    assert code == 2 and err.count("\n") == 1 and "another statement" in err
    assert (tmp_path / "mine.cert.json").read_bytes() == before
    # the same statement again replaces its own certificate
    code, again = verify_json(["--domain", OMEGA, "--claim", "mean<=0.07", "--name", "mine"],
                              cli, tmp_path)
    assert code == 0 and check_certificate(again["certificate"]).valid


# ------------------------------------------------------------------ 8. completeness, NaN
def test_claim_false_by_3e_18_is_refuted(tmp_path, cli):
    code, entry = verify_json(["--domain", OMEGA, "--claim", "variance>=0.8037117576791128"],
                              cli, tmp_path)
    assert code == 1 and entry["holds"] is False
    ce = entry["counterexample"]
    point = [Fraction(ce[n]) for n in ("mu", "omega", "nu", "tau")]
    with mpmath.workdps(40):
        lam, alpha = backends.constants_function("mpmath")()
        value = backends.evaluator("mpmath", ("variance",))(
            *[mpmath.mpf(x.numerator) / x.denominator for x in point], lam, alpha)[0]
        assert value < mpmath.mpf("0.8037117576791128")  # independently: false there
    assert Fraction(ce["value"][1]) < Fraction("0.8037117576791128")  # and it prints so
    code, (report,) = check_json([entry["certificate"]], cli)
    assert code == 0 and report["verdict"] == "refuted"


def test_interval_proof_is_marked_in_json(mean_upper, tmp_path, cli):
    code, entry = verify_json(["--theorem", "2"], cli, tmp_path)
    assert code == 0 and entry["proof"] == "interval"
