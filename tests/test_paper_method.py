"""The paper's proof method): grid max + rigorous derivative bounds + MVT.

Independent checks: mpmath at 30 digits (a different number system than the float64 grid and
the arb bounds) for the maximiser and for finite-difference derivatives; an exhaustive
single-call evaluation of every grid point for the sharding test.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from typing import Any

import jax  # noqa: F401  (imported first: this process keeps JAX's default devices)
import mpmath
import pytest

from snn_theory.certify.claims import VARIABLE_NAMES
from snn_theory.certify.paper.bounds import PAPER_DERIVATIVE_BOUNDS
from snn_theory.certify.paper.grid import (
    DOMAINS,
    PAPER_SPACINGS,
    GridSpec,
    grid_spec,
    scan_grid,
)
from snn_theory.certify.paper.verdict import PaperResult, run_paper_method
from snn_theory.errors import InputError
from snn_theory.evaluate.moment_map import closed_form_quantities
from snn_theory.precision import working_precision

#: Leaf-box budget of the derivative bounds in these tests (the CLI default is larger: its
#: bounds are tighter).  Bounds are rigorous for any budget; this one keeps the tests fast.
TEST_BOXES = 1000
#: One chunk size for every run_paper_method call here: one compiled kernel serves them all.
CHUNK = 1 << 16


def spectral_norm(*point: Any, backend: str) -> Any:
    """S(H) at (μ, ω, ν, τ) by the closed forms."""
    return closed_form_quantities(*point, backend=backend, quantities=("spectral_norm",))["spectral_norm"]


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("paper-state"))


@pytest.fixture(scope="module")
def coarse(state_dir: str) -> PaperResult:
    return run_paper_method("1", "coarse", state_dir=state_dir,
                            derivative_boxes=TEST_BOXES, chunk_size=CHUNK)


def _mp_S(point: tuple[float, ...]) -> mpmath.mpf:
    with working_precision(digits=30):
        return spectral_norm(*[mpmath.mpf(x) for x in point], backend="mpmath")


def test_documented_grids() -> None:
    assert grid_spec("1", "coarse").total == 9 * 9 * 36 * 46 == 134_136
    assert grid_spec("appendix", "fine").total == 17 * 33 * 141 * 121 == 9_571_221
    paper = grid_spec("appendix", "paper")
    assert paper.points == (31, 243, 732, 616)
    assert 3e9 < paper.total < 3.5e9  # "about 3·10⁹ points" (docs/mathematics.md §5)
    assert all(d <= p for d, p in zip(paper.spacings, PAPER_SPACINGS))
    for name in ("coarse", "fine", "paper"):
        spec = grid_spec("1", name)
        assert spec.point(0) == tuple(lo for lo, _ in spec.domain)
        assert spec.point(spec.total - 1) == tuple(hi for _, hi in spec.domain)


def test_coarse_theorem1_holds_and_matches_independent_values(coarse: PaperResult) -> None:
    r, g = coarse, coarse.grid
    assert r.name == "theorem1.contraction" and r.method == "paper"
    assert r.holds is True
    assert r.verdict_text == ("holds (grid + rigorous derivative bounds + stated (unproven) "
                              "float allowance)")
    assert r.proof == "grid+allowance" and r.extremum.certified is False
    assert "verif" not in r.verdict_text and "certif" not in r.verdict_text
    lo, up = r.extremum.lower, r.extremum.upper
    assert lo <= g.max + g.float_allowance and g.max < up < 1
    assert math.isclose(up, g.max + g.mvt_term + g.float_allowance, rel_tol=1e-12)
    # the float64 grid maximum matches arb at the same point to the stated allowance
    a_lo, a_hi = g.arb_at_argmax
    assert a_lo - g.float_allowance <= g.max <= a_hi + g.float_allowance
    assert g.float_observed_max_error < 1e-13 and g.float_allowance >= 1e-10
    # the maximiser is Ω's corner (∓0.1, ∓0.1, 0.8, 1.1) (a tie in exact arithmetic: S is
    # unchanged by (μ, ω) ↦ (−μ, −ω)); mpmath there lies in [lower, upper]
    am = dict(zip(VARIABLE_NAMES, g.argmax))
    assert abs(am["mu"]) == 0.1 and am["omega"] == am["mu"] and (am["nu"], am["tau"]) == (0.8, 1.1)
    assert _mp_S((-0.1, -0.1, 0.8, 1.1)) == _mp_S((0.1, 0.1, 0.8, 1.1))
    s = _mp_S((-0.1, -0.1, 0.8, 1.1))
    assert lo - 1e-15 <= s <= up
    # and no point of a random sample of Ω exceeds the enclosure's upper end
    rng = __import__("numpy").random.default_rng(1)
    for _ in range(20):
        p = tuple(rng.uniform(a, b) for a, b in DOMAINS["1"])
        assert _mp_S(p) <= up


def test_grid_max_matches_interval_engine_enclosure(coarse: PaperResult) -> None:
    """The interval engine's certified enclosure [L, U] of max S over Ω) and the
    paper method agree: the grid max is within the float allowance of [L, U] (the maximiser
    is a corner, which is a grid point), and the two enclosures intersect."""
    from snn_theory.certify import claims
    from snn_theory.certify.search import loop
    from snn_theory.certify.search.settings import Settings

    res = loop.verify_claim(claims.BUILTIN_CLAIMS["theorem1.contraction"],
                            Settings(grid="coarse"))
    low, up = (float(x) for x in res.extremum)
    g = coarse.grid
    assert res.holds is True
    assert low - g.float_allowance <= g.max <= up + g.float_allowance
    assert coarse.extremum.lower <= up and low <= coarse.extremum.upper


def test_derivative_bounds_enclose_finite_differences(coarse: PaperResult) -> None:
    """mpmath central differences at random points and corners never exceed the bounds,
    and the rigorous lower bounds of the sups are attained-ish (≤ the bounds)."""
    bounds = {d.variable: d for d in coarse.grid.derivative_bounds}
    rng = __import__("numpy").random.default_rng(2)
    points = [tuple(rng.uniform(a, b) for a, b in DOMAINS["1"]) for _ in range(6)]
    points.append((-0.1, -0.1, 0.8, 1.1))
    h = mpmath.mpf("1e-12")
    for p in points:
        for i, var in enumerate(VARIABLE_NAMES):
            with working_precision(digits=40):
                plus = [mpmath.mpf(x) for x in p]
                minus = list(plus)
                plus[i] += h
                minus[i] -= h
                d = (spectral_norm(*plus, backend="mpmath")
                     - spectral_norm(*minus, backend="mpmath")) / (2 * h)
            assert abs(d) <= bounds[var].bound
    for d in bounds.values():
        assert 0 <= d.sup_lower <= d.bound < math.inf
        assert d.paper_bound in PAPER_DERIVATIVE_BOUNDS


def test_fine_theorem1_holds_with_smaller_error_term(state_dir: str, coarse: PaperResult) -> None:
    r = run_paper_method("1", "fine", state_dir=state_dir,
                         derivative_boxes=TEST_BOXES, chunk_size=CHUNK)
    assert r.grid.points == 9_571_221
    assert r.holds is True
    assert r.grid.max == coarse.grid.max  # same corner point, same float64 code
    assert r.grid.mvt_term < coarse.grid.mvt_term / 3
    assert r.extremum.upper < coarse.extremum.upper
    assert r.grid.derivative_bounds == coarse.grid.derivative_bounds  # cached


def test_too_coarse_grid_is_inconclusive(state_dir: str) -> None:
    r = run_paper_method("1", (2, 2, 2, 2), state_dir=state_dir,
                         derivative_boxes=TEST_BOXES, chunk_size=CHUNK)
    assert r.holds is None
    assert r.verdict_text.startswith("inconclusive")
    assert r.extremum.upper >= 1 > r.extremum.lower
    assert r.counterexample is None


def test_refuted_with_checked_counterexample(state_dir: str) -> None:
    """τ up to 1.6: S ≈ 1.19 at μ = ω = −0.1, ν = 0.8, τ = 1.6): the arb value at the
    grid maximum is > 1, so the claim is false with that point as counterexample.  The
    library reports its stages through the progress callback and leaves the environment
    alone (the CLI, not the library, exposes the CPU cores as JAX devices)."""
    box = (("-0.1", "0.1"), ("-0.1", "0.1"), ("0.8", "1.5"), ("0.8", "1.6"))
    calls: list[tuple[str, int, int]] = []
    environment = dict(os.environ)
    r = run_paper_method("1", (3, 3, 3, 3), domain=box, state_dir=state_dir,
                         derivative_boxes=100, chunk_size=CHUNK,
                         progress=lambda *call: calls.append(call))
    assert dict(os.environ) == environment
    bounds_calls = [c for c in calls if c[0] == "derivative bounds"]
    grid_calls = [c for c in calls if c[0] == "grid"]
    assert bounds_calls and all(0 < done <= total == 100 for _, done, total in bounds_calls)
    assert grid_calls[0] == ("grid", 0, 81) and grid_calls[-1] == ("grid", 81, 81)
    assert [done for _, done, _ in grid_calls] == sorted(done for _, done, _ in grid_calls)
    assert len(calls) == len(bounds_calls) + len(grid_calls)
    assert r.holds is False and r.name == "custom.contraction"
    ce = dict(zip(VARIABLE_NAMES, r.counterexample))
    assert float(ce["mu"]) == float(ce["omega"]) and abs(float(ce["mu"])) == 0.1
    assert (ce["nu"], ce["tau"]) == ("0.8", "1.6")
    s = _mp_S((float(ce["mu"]), float(ce["omega"]), 0.8, 1.6))
    assert 1.18 < s < 1.2 and r.extremum.lower > 1


def test_resume_after_interrupt_gives_same_result(tmp_path, state_dir: str) -> None:
    spec = GridSpec(DOMAINS["appendix"], (3, 5, 9, 7), "small")
    state = tmp_path / "scan.json"
    calls = []

    def interrupt(next_index: int) -> None:
        calls.append(next_index)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan_grid(spec, chunk_size=64, state_path=state, on_chunk=interrupt)
    saved = json.loads(state.read_text())
    assert saved["next"] == 192 and saved["max"] is not None
    resumed = scan_grid(spec, chunk_size=64, state_path=state, resume=True)
    full = scan_grid(spec, chunk_size=64)
    assert resumed.resumed_from == 192
    assert (resumed.max, resumed.argmax) == (full.max, full.argmax)
    # resuming a finished scan returns at once with the same result
    again = scan_grid(spec, state_path=state, resume=True)
    assert (again.max, again.argmax) == (full.max, full.argmax)
    # a state file of another grid, or a damaged one, is refused with a one-line InputError
    with pytest.raises(InputError):
        scan_grid(GridSpec(DOMAINS["1"], (3, 5, 9, 7)), state_path=state, resume=True)
    for damage in ('{"version": 1', json.dumps(dict(saved, max="garbage")),
                   json.dumps(dict(saved, next=10**9))):
        state.write_text(damage)
        with pytest.raises(InputError):
            scan_grid(spec, chunk_size=64, state_path=state, resume=True)


def test_resume_through_run_paper_method(tmp_path, state_dir: str) -> None:
    """Interrupted run_paper_method resumes from its state file to the same verdict."""
    sd = tmp_path / "st"
    sd.mkdir()
    for f in os.listdir(state_dir):  # reuse the cached derivative bounds
        if f.startswith("paper-derivative-bounds-"):
            (sd / f).write_text(open(os.path.join(state_dir, f)).read())

    def stop(next_index: int) -> None:
        if next_index >= 2 * CHUNK:
            raise KeyboardInterrupt

    kw = dict(state_dir=str(sd), derivative_boxes=TEST_BOXES, chunk_size=CHUNK)
    grid = (9, 9, 41, 41)  # 136,161 points = 3 chunks: interrupted after two
    with pytest.raises(KeyboardInterrupt):
        run_paper_method("1", grid, on_chunk=stop, **kw)
    resumed = run_paper_method("1", grid, resume=True, **kw)
    fresh = run_paper_method("1", grid, resume=False, **kw)
    assert resumed.grid.resumed_from == 2 * CHUNK
    for key in ("holds", "extremum"):
        assert getattr(resumed, key) == getattr(fresh, key)
    assert resumed.grid.max == fresh.grid.max


SHARD_SCRIPT = textwrap.dedent("""
    import json
    import jax
    import numpy as np
    from snn_theory.certify.paper.grid import DOMAINS, GridSpec, grid_values, scan_grid
    spec = GridSpec(DOMAINS["appendix"], (5, 7, 11, 13), "small")
    single = scan_grid(spec, chunk_size=spec.total, device_count=1)  # one chunk, 1 device
    every = grid_values(spec, range(spec.total))  # every point, another compiled program
    out = {"devices": len(jax.devices()),
           "single": [single.max.hex(), single.argmax, single.chunk_size],
           "values_max": float(every.max()), "scans": []}
    for chunk, devices in ((7, 4), (64, 1), (spec.total, 4)):
        r = scan_grid(spec, chunk_size=chunk, device_count=devices)
        out["scans"].append([chunk, devices, r.chunk_size, r.max.hex(), r.argmax])
    print(json.dumps(out))
""")


def test_chunked_sharded_scan_is_bit_identical() -> None:
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    proc = subprocess.run([sys.executable, "-c", SHARD_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 4
    assert out["single"][2] == 5005
    assert len(out["scans"]) == 3
    for _chunk, _devices, used_chunk, mx, argmax in out["scans"]:
        assert [mx, argmax] == out["single"][:2]
        assert used_chunk % _devices == 0
    # an all-points evaluation by a differently compiled program agrees to a few ulps (the
    # maximum here is a tie in exact arithmetic: S(μ, ω) = S(−μ, −ω), H ↦ H·diag(−1, 1))
    assert abs(out["values_max"] - float.fromhex(out["single"][0])) < 1e-14


def test_json_entry_has_the_claims_shape(coarse: PaperResult) -> None:
    """The typed result serialises to the interval method's claim shape plus the grid
    report, as strict JSON, with the values of the typed fields."""
    entry = json.loads(json.dumps(coarse.to_json(), allow_nan=False))
    assert list(entry) == ["name", "statement", "holds", "proof", "extremum", "counterexample",
                           "boxes", "seconds", "certificate", "method", "verdict_text", "grid"]
    assert entry["extremum"] == {"kind": "max", "lower": coarse.extremum.lower,
                                 "upper": coarse.extremum.upper, "certified": False,
                                 "upper_rests_on": "float allowance (unproven)"}
    assert (entry["holds"], entry["proof"], entry["certificate"]) == (True, "grid+allowance", None)
    g = entry["grid"]
    assert g["argmax"] == dict(zip(VARIABLE_NAMES, coarse.grid.argmax))
    assert g["points_per_dimension"] == {"mu": 9, "omega": 9, "nu": 36, "tau": 46}
    assert [d["bound"] for d in g["derivative_bounds"]] == [
        d.bound for d in coarse.grid.derivative_bounds]
    assert all(d["paper_bound_proven_valid"] is (d["bound"] <= d["paper_bound"])
               for d in g["derivative_bounds"])
    assert math.isclose(g["paper_mvt_term"], sum(b * d / 2 for b, d in zip(
        PAPER_DERIVATIVE_BOUNDS, PAPER_SPACINGS)))


def test_report_text(coarse: PaperResult) -> None:
    """The CLI's report states the verdict, every proven bound and that the upper end rests
    on the unproven allowance."""
    from snn_theory.cli.verify_paper import render

    text = render(coarse)
    assert f"verdict: {coarse.verdict_text}" in text and "not a certified bound" in text
    for d in coarse.grid.derivative_bounds:
        assert f"|dS/d{d.variable:<5}| <= {d.bound:<10.5f}" in text
    assert f"max S <= {coarse.extremum.upper} only if the float allowance holds" in text


def test_theorem_domains_come_from_the_claims_registry() -> None:
    from snn_theory.certify.claims import BUILTIN_CLAIMS

    for theorem, name in (("1", "theorem1.contraction"),
                          ("appendix", "appendix.contraction_wide_tau")):
        bounds = BUILTIN_CLAIMS[name].domain.bounds
        assert DOMAINS[theorem] == tuple((float(a), float(b)) for a, b in bounds)


def test_bad_input() -> None:
    with pytest.raises(InputError) as exc:
        grid_spec("2", "coarse")
    assert "--" not in str(exc.value)  # a library message names no CLI flag
    with pytest.raises(InputError):
        grid_spec("1", "medium")
    with pytest.raises(InputError):
        GridSpec(((0.1, -0.1),) + DOMAINS["1"][1:], (3, 3, 3, 3))
    with pytest.raises(InputError):
        grid_spec("1", (1, 3, 3, 3))
