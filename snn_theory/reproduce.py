"""Reproduce the whole theory in one run: ``snn-theory reproduce``.

Stages (each timed; the run holds only when every stage holds):

1. **constants** — λ01, α01 certified (Krawczyk test in ball arithmetic) at ``digits``, the
   closed forms compared, alpha-dropout constants (:func:`snn_theory.constants.solve_constants`;
   the same object ``snn-theory solve-constants --json`` prints);
2. **claims** — every built-in claim of :mod:`snn_theory.claims` verified by
   ``verify-contraction`` with certificates written to ``OUT/proofs`` (the verifier's own JSON
   is kept verbatim);
3. **check** — every certificate re-verified by the independent checker
   (:func:`snn_theory.certificate.check_certificate`);
4. **monte-carlo** — wide networks (normalised weights) simulated at a few widths
   (:func:`snn_theory.simulate.simulate`; each run's JSON is what ``snn-theory simulate
   --json`` prints for the same configuration).  A statistical sanity check, not a proof;
5. **figures** — every figure of :mod:`snn_theory.plots` into ``OUT/figures``;
6. **report** — ``OUT/proofs/REPORT.md`` (tables: constants, each claim with the paper's
   statement and the certified result, the checker's verdicts, the Monte Carlo runs, the
   figures, the stages) and ``OUT/proofs/reproduce.json`` (everything, machine-readable, but
   no timings or versions: those go to the git-ignored ``OUT/proofs/reproduce.timings.json``,
   so that a repeat run rewrites the committed files byte for byte).

Only the constants, the claims and the checked certificates are called *certified*; the
Monte Carlo stage holds when its statistical sanity bound holds (the deviation law it also
fits is reported with its own verdict).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory import __version__, plots
from snn_theory.errors import InputError
from snn_theory.files import writable_directory


# --------------------------------------------------------------------------- modes
@dataclass(frozen=True)
class Mode:
    """Sizes of one reproduction run."""

    name: str
    digits: int                     # digits of the certified constants
    dropout_rates: tuple[str, ...]  # alpha-dropout rates for the constants table
    claims: tuple[str, ...]         # built-in claims to verify (see QUICK_SKIPS)
    grid: str                       # verify-contraction --grid
    tolerance: str | None           # verify-contraction --tolerance (None: its default)
    mc_widths: tuple[int, ...]      # widths on CPU
    mc_depth: int
    mc_batch: int
    mc_start: tuple[float, float]   # (μ0, ν0)
    flow_monte_carlo: bool          # overlay simulated trajectories on the flow field
    figure_grid: float              # resolution factor of the figures' grids
    mc_widths_accel: tuple[int, ...] = ()  # widths when JAX runs on a GPU/TPU (() = same)
    mc_batch_accel: int = 0                # batch on a GPU/TPU (0 = same)

    def monte_carlo_sizes(self) -> tuple[tuple[int, ...], int]:
        """(widths, batch) for the device JAX runs on: larger on a GPU/TPU."""
        if self.mc_widths_accel and _accelerated():
            return self.mc_widths_accel, self.mc_batch_accel or self.mc_batch
        return self.mc_widths, self.mc_batch


def _accelerated() -> bool:
    try:
        import jax

        return jax.default_backend() != "cpu"
    except Exception:  # noqa: BLE001 - no usable JAX: the simulator stage reports it
        return False


def _all_claims() -> tuple[str, ...]:
    from snn_theory.claims import BUILTIN_CLAIMS

    return tuple(BUILTIN_CLAIMS)


#: Claims left out of ``--quick``, with the reason printed in the report.
#: (Empty since the compact-gradient enclosures: the thinnest claim, the appendix's wider
#: τ range, needs about 5000 leaf boxes and 3 s.)
QUICK_SKIPS: dict[str, str] = {}

MODES: dict[str, Mode] = {
    "quick": Mode(
        "quick", digits=50, dropout_rates=("0.05", "0.1"),
        claims=tuple(n for n in _all_claims() if n not in QUICK_SKIPS), grid="coarse",
        tolerance=None, mc_widths=(64, 256), mc_depth=20, mc_batch=32, mc_start=(0.5, 2.0),
        flow_monte_carlo=False, figure_grid=0.5),
    "default": Mode(
        "default", digits=100, dropout_rates=("0.05", "0.1"), claims=_all_claims(),
        grid="coarse", tolerance=None, mc_widths=(128, 512, 2048), mc_depth=30, mc_batch=128,
        mc_start=(0.5, 2.0), flow_monte_carlo=True, figure_grid=1.0,
        mc_widths_accel=(1024, 4096, 16384), mc_batch_accel=1024),
    "full": Mode(
        "full", digits=1000, dropout_rates=("0.05", "0.1", "0.2"), claims=_all_claims(),
        grid="fine", tolerance=None, mc_widths=(256, 1024, 4096, 8192), mc_depth=60,
        mc_batch=256, mc_start=(0.5, 2.0), flow_monte_carlo=True, figure_grid=1.5,
        mc_widths_accel=(2048, 8192, 32768), mc_batch_accel=4096),
}

#: The paper's wording of each built-in claim (Klambauer et al. 2017, Section 3 and appendix;
#: domains as in docs/mathematics.md §4).
PAPER_STATEMENTS: dict[str, str] = {
    "theorem1.contraction": "Theorem 1: g is a contraction on Ω (S(H) < 1)",
    "theorem1.mean_lower": "Theorem 1: g maps Ω into itself, μ̃ ≥ −0.03106",
    "theorem1.mean_upper": "Theorem 1: μ̃ ≤ 0.06773",
    "theorem1.variance_lower": "Theorem 1: ν̃ ≥ 0.80009",
    "theorem1.variance_upper": "Theorem 1: ν̃ ≤ 1.48617",
    "appendix.contraction_wide_tau": "Appendix: contraction also for τ ∈ [0.8, 1.25]",
    "theorem2.variance_decreases": "Theorem 2: variance decreases for ν ∈ [3, 16]",
    "theorem3a.variance_increases": "Theorem 3: variance increases for ν ∈ [0.02, 0.16]",
    "theorem3b.variance_increases": "Theorem 3: variance increases for ν ∈ [0.02, 0.24], "
                                    "τ ≥ 0.9",
}

#: Built-in claims whose *paper* statement is known to be false, with the reason.  A run
#: holds when each of these is refuted (with a certificate the checker accepts) and every other
#: claim holds; the report lists them as errata.  Only facts established by a rigorous
#: counterexample belong here.
EXPECTED_FALSE: dict[str, str] = {
    "theorem1.mean_lower": (
        "the paper prints μ̃ ≥ −0.03106 on Ω, but at the corner (μ, ω, ν, τ) = (−0.1, 0.1, "
        "0.8, 0.95) μ̃ = −0.0310605017922… < −0.03106: the printed bound was rounded the wrong "
        "way (the substance of Theorem 1 is unaffected: g still maps Ω into the (μ, ν) box)"),
}

#: Figures of each claim in the report.
CLAIM_FIGURES: dict[str, tuple[str, ...]] = {
    "theorem1.contraction": ("contraction", "flow_field"),
    "theorem1.mean_lower": ("fixed_points", "flow_field"),
    "theorem1.mean_upper": ("fixed_points", "flow_field"),
    "theorem1.variance_lower": ("fixed_points", "flow_field"),
    "theorem1.variance_upper": ("fixed_points", "flow_field"),
    "appendix.contraction_wide_tau": ("contraction",),
    "theorem2.variance_decreases": ("variance_change",),
    "theorem3a.variance_increases": ("variance_change",),
    "theorem3b.variance_increases": ("variance_change",),
}

STAGES: tuple[str, ...] = ("constants", "claims", "check", "monte-carlo", "figures", "report")


# --------------------------------------------------------------------------- progress
class Progress:
    """Progress reporting interface (the CLI passes a rich progress bar; default: silent)."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage starts (``total``: its number of steps, None when unknown)."""

    def advance(self, done: int, total: int | None = None) -> None:
        """``done`` steps of the current stage are finished."""

    def status(self, text: str) -> None:
        """What the current stage is doing now (shown beside its bar)."""

    def note(self, text: str) -> None:
        """A line of information (e.g. the wall time of a finished stage)."""


@dataclass
class StageResult:
    name: str
    ok: bool
    seconds: float
    summary: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "seconds": round(self.seconds, 3),
                "summary": self.summary, **self.data}


@dataclass
class Reproduction:
    mode: str
    out: Path
    stages: list[StageResult]
    report: Path | None

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.stages)

    def stage(self, name: str) -> StageResult | None:
        return next((s for s in self.stages if s.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "out": str(self.out), "ok": self.ok,
                "report": str(self.report) if self.report else None,
                "version": __version__,
                "stages": {s.name: s.to_json() for s in self.stages},
                "seconds": round(sum(s.seconds for s in self.stages), 3)}


class StageError(RuntimeError):
    """A stage could not run (a missing piece, a crashed subcommand); says why in one line."""


# --------------------------------------------------------------------------- adapters
# Everything reproduce needs from the other modules goes through these few functions, so a
# change of their interfaces touches only this block.

def solve_default_constants(digits: int, rates: Sequence[str]) -> dict[str, Any]:
    """``snn-theory solve-constants --digits D --dropout-rate R… --json`` as a dict, plus
    ``ok`` (certified and, for the default target, the closed forms agree)."""
    from snn_theory.constants import solve_constants

    result = solve_constants(digits=digits, dropout_rates=tuple(rates))
    return {"json": result.to_json(), "ok": bool(result.ok)}


def verify_claims(names: Sequence[str], certificate_dir: Path, grid: str,
                  tolerance: str | None, jobs: int,
                  progress: Callable[[int, str, int], None] | None = None) -> dict[str, Any]:
    """What ``snn-theory verify-contraction --grid G [--tolerance T] --certificate-dir DIR
    --json`` does for the built-in claims ``names``, in this process: the same search
    (:func:`snn_theory.verify.verify_claim`), the same certificates
    (:func:`snn_theory.certificate.write_certificate`), the same JSON entries.

    Returns ``{"json": {"claims": [...]}, "exit_code": 0 | 1 | 3}`` (the command's exit code:
    1 when a claim is refuted, 3 when one is undecided).  ``progress(claims_done, claim,
    boxes)`` is called as the search goes.
    """
    from snn_theory.certificate import write_certificate
    from snn_theory.claims import BUILTIN_CLAIMS, parse_number
    from snn_theory.verify import DEFAULT_TOLERANCE, Constants, Runner, Settings, verify_claim

    tol = DEFAULT_TOLERANCE if tolerance is None else parse_number(tolerance, "tolerance")
    # a fixed round size: the same leaves (and certificates) whatever the number of cores
    settings = Settings(grid=grid, tolerance=tol, jobs=jobs, constants=Constants(),
                        state_dir=certificate_dir / ".state", resume=False,
                        round_size=REPRODUCE_ROUND)
    entries, verdicts = [], []
    with Runner(settings.jobs) as runner:
        for k, name in enumerate(names):
            def report(claim: Any, status: Any, k: int = k, name: str = name) -> None:
                if progress is not None:
                    progress(k, name, status.boxes)

            result = verify_claim(BUILTIN_CLAIMS[name], settings, runner, report)
            path = write_certificate(certificate_dir, result.certificate_data())
            result.certificate = None if path is None else str(path)
            entries.append(result.json_entry())
            verdicts.append(result.verdict)
            if progress is not None:
                progress(k + 1, name, len(result.leaves))
    code = 1 if "refuted" in verdicts else 3 if "undecided" in verdicts else 0
    return {"json": {"claims": entries}, "exit_code": code}


def check_certificates(paths: Sequence[Path], jobs: int,
                       progress: Callable[[int, int], None] | None = None
                       ) -> list[dict[str, Any]]:
    """The checker's report for each file (``snn-theory check-certificate --json`` items)."""
    from snn_theory.certificate import check_certificate

    reports = []
    for k, path in enumerate(paths):
        report = check_certificate(path, jobs=jobs)
        reports.append(report.to_json())
        if progress is not None:
            progress(k + 1, len(paths))
    return reports


def simulate_run(width: int, depth: int, batch: int, mean0: float, var0: float,
                 seed: int = 0) -> tuple[dict[str, Any], np.ndarray]:
    """One simulated network (normalised weights, ω = 0, τ = 1, float32): the JSON of
    ``snn-theory simulate --width … --json`` and its (depth + 1, 2) per-layer (mean, variance).
    """
    from snn_theory import simulate as sim
    config = sim.SimulationConfig(width=width, depth=depth, batch=batch, mean0=mean0,
                                  var0=var0, weights="normalized", seed=seed)
    result = sim.simulate(config)
    return result.to_json(), np.stack([np.asarray(result.mean, float),
                                       np.asarray(result.variance, float)], axis=1)


# --------------------------------------------------------------------------- stages
def _timed(name: str, fn: Callable[[], tuple[bool, str, dict[str, Any]]],
           progress: Progress) -> StageResult:
    t0 = time.perf_counter()
    try:
        ok, summary, data = fn()
    except (StageError, InputError) as exc:
        ok, summary, data = False, f"failed: {' '.join(str(exc).split())}", {"error": str(exc)}
    seconds = time.perf_counter() - t0
    progress.note(f"stage {name}: {seconds:.1f} s — {summary}")
    return StageResult(name, ok, seconds, summary, data)


def stage_constants(mode: Mode, progress: Progress) -> tuple[bool, str, dict[str, Any]]:
    progress.stage("certifying λ01, α01", 1)
    result = solve_default_constants(mode.digits, mode.dropout_rates)
    progress.advance(1, 1)
    j = result["json"]
    if not j.get("certified"):
        return False, "NOT certified", {"constants": j}
    agree = j.get("closed_form_agrees")
    summary = (f"certified to {j['digits']} digits; closed forms "
               f"{'agree' if agree else 'DISAGREE' if agree is False else 'not compared'}")
    return bool(result["ok"]), summary, {"constants": j}


def stage_claims(mode: Mode, proofs: Path, jobs: int,
                 progress: Progress) -> tuple[bool, str, dict[str, Any]]:
    progress.stage(f"verifying {len(mode.claims)} built-in claims (--grid {mode.grid})",
                   len(mode.claims))

    def tick(done: int, name: str, boxes: int) -> None:
        progress.advance(done, len(mode.claims))
        progress.status(f"{name}: {boxes} boxes")

    result = verify_claims(mode.claims, proofs, mode.grid, mode.tolerance, jobs, tick)
    claims = result["json"].get("claims", [])
    holds = [c for c in claims if c.get("holds") is True]
    errata = [c for c in claims if c.get("holds") is False and c.get("name") in EXPECTED_FALSE]
    skipped = [n for n in _all_claims() if n not in mode.claims]
    unexpected = [c["name"] for c in claims
                  if c not in holds and c not in errata]
    ok = bool(claims) and not unexpected
    summary = (f"{len(holds)}/{len(claims)} claims hold (certified)"
               + (f", {len(errata)} refuted as expected (paper erratum: "
                  f"{', '.join(c['name'] for c in errata)})" if errata else "")
               + (f", NOT as expected: {', '.join(unexpected)}" if unexpected else "")
               + f"; {sum(int(c.get('boxes') or 0) for c in claims)} leaf boxes"
               + (f"; not run in --{mode.name}: {', '.join(skipped)}" if skipped else ""))
    return ok, summary, {"skipped": skipped, "verify": result["json"], "exit_code": result["exit_code"],
                         "errata": [c["name"] for c in errata], "unexpected": unexpected}


def stage_check(mode: Mode, claims_stage: StageResult | None, jobs: int,
                progress: Progress) -> tuple[bool, str, dict[str, Any]]:
    claims = (claims_stage.data.get("verify") or {}).get("claims", []) if claims_stage else []
    paths = [Path(c["certificate"]) for c in claims if c.get("certificate")]
    missing = [c["name"] for c in claims if not c.get("certificate")]
    progress.stage("re-checking the certificates independently", len(paths) or None)
    # Measured (2 loaded cores): the checker's process pool costs more than it saves on
    # certificates of a few thousand boxes (8 quick-mode files: 6.9 s with 1 job, 29 s with
    # 2), so only --full, with its fine grid, checks in parallel.
    reports = check_certificates(paths, jobs if mode.name == "full" else 1, progress.advance)
    valid = [r for r in reports if r["valid"]]
    ok = bool(claims) and not missing and len(valid) == len(reports)
    summary = f"{len(valid)}/{len(reports)} certificates valid"
    if missing:
        summary += f"; no certificate for {', '.join(missing)}"
    return ok, summary, {"certificates": reports, "missing": missing}


def stage_monte_carlo(mode: Mode, progress: Progress) -> tuple[bool, str, dict[str, Any]]:
    """Criterion (statistical, a sanity bound rather than a test of the scaling law): at
    every layer l the empirical mean and variance of a width-N network lie within
    2·(1 + ν_l)/√N of the analytic iterates (μ_l, ν_l), and the widest network ends within
    0.05 + 4/√N of the fixed point (0, 1).  Separately, and not part of the criterion, the
    deviation law a/√(N·B) + b/N is fitted and tested
    (:func:`snn_theory.simulate.fit_deviation_law`; untested with fewer than 3 widths)."""
    widths, batch = mode.monte_carlo_sizes()
    progress.stage("simulating wide networks", len(widths))
    runs, arrays, checks = [], {}, []
    mu0, nu0 = mode.mc_start
    for k, width in enumerate(widths):
        j, arr = simulate_run(width, mode.mc_depth, batch, mu0, nu0)
        runs.append(j)
        arrays[width] = arr
        predicted = np.array([[row["predicted_mean"], row["predicted_variance"]]
                              for row in j["layers"]], float)
        tol = 2.0 * (1.0 + predicted[:, 1]) / math.sqrt(width)
        within = bool(np.all(np.abs(arr - predicted) <= tol[:, None]))
        checks.append({"width": width, "within_tolerance": within,
                       "max_deviation": j["max_deviation"],
                       "converged_at_layer": j["converged_at_layer"], "seconds": j["seconds"]})
        progress.advance(k + 1, len(widths))
    widest = arrays[max(arrays)][-1]
    slack = 0.05 + 4.0 / math.sqrt(max(arrays))
    settled = bool(abs(widest[0]) <= slack and abs(widest[1] - 1) <= slack)
    ok = settled and all(c["within_tolerance"] for c in checks)
    from snn_theory.simulate import fit_deviation_law

    exponent, law = None, None
    if len(widths) >= 2:
        dev = [max(c["max_deviation"]["mean"], c["max_deviation"]["variance"]) for c in checks]
        if all(d > 0 for d in dev):
            exponent = float(np.polyfit(np.log(widths), np.log(dev), 1)[0])
            law = fit_deviation_law(widths, batch, dev).to_json()
    summary = (f"{'within' if ok else 'NOT within'} the sanity bound (statistical): at every "
               f"layer widths {', '.join(map(str, widths))} (batch {batch}) stay within "
               f"2·(1 + ν)/√N of the iterates of g, and the widest ends at (μ, ν) = "
               f"({widest[0]:.4f}, {widest[1]:.4f}), near the fixed point (0, 1)")
    return ok, summary, {"widths": list(widths), "batch": batch, "runs": runs, "checks": checks,
                         "deviation_exponent": exponent, "deviation_law": law,
                         "final_widest": [float(widest[0]), float(widest[1])],
                         "_arrays": arrays}


def stage_figures(mode: Mode, figures: Path, claims_stage: StageResult | None,
                  mc_stage: StageResult | None,
                  progress: Progress) -> tuple[bool, str, dict[str, Any]]:
    g = mode.figure_grid
    cert = None
    if claims_stage is not None:
        for c in (claims_stage.data.get("verify") or {}).get("claims", []):
            if c.get("name") == "appendix.contraction_wide_tau" and c.get("certificate"):
                cert = c["certificate"]
    arrays = (mc_stage.data.get("_arrays") if mc_stage is not None and mc_stage.ok else None)
    jobs: list[tuple[str, Callable[[], plots.PlotResult]]] = [
        ("flow_field", lambda: plots.flow_field(
            figures / "flow_field.png", grid=max(int(21 * min(g, 1)), 11),
            monte_carlo=mode.flow_monte_carlo and arrays is not None)),
        ("contraction", lambda: plots.contraction(
            figures / "contraction.png", grid=int(121 * g), certificate=cert)),
        ("variance_change", lambda: plots.variance_change(
            figures / "variance_change.png", grid=int(161 * g))),
        ("fixed_points", lambda: plots.fixed_points(
            figures / "fixed_points.png", grid=int(41 * g))),
    ]
    propagation = ("correlation_map", "gradients") if mode.name != "quick" else ()
    if propagation:  # (--quick leaves them out: about 50 s together)
        jobs += [
            ("correlation_map", lambda: plots.correlation_map(figures / "correlation_map.png")),
            ("gradients", lambda: plots.gradients(figures / "gradients.png")),
        ]
    if mode.name == "full":
        jobs.append(("training", lambda: _training_figure(figures / "training.png")))
    if arrays is not None:
        mu0, nu0 = mode.mc_start
        jobs.append(("convergence", lambda: plots.convergence(
            figures / "convergence.png", depth=mode.mc_depth, batch=mc_stage.data["batch"],
            mean0=mu0,
            var0=nu0, empirical=arrays)))
    progress.stage("drawing the figures", len(jobs))
    written: dict[str, Any] = {}
    for k, (name, make) in enumerate(jobs):
        result = make()
        written[name] = {"path": str(result.path), **_jsonable(result.summary)}
        progress.advance(k + 1, len(jobs))
    expected = ("flow_field", "contraction", "variance_change", "fixed_points",
                "convergence") + propagation + (("training",) if mode.name == "full" else ())
    missing = [n for n in expected if n not in written or "error" in written[n]]
    ok = not missing
    summary = f"{len(expected) - len(missing)}/{len(expected)} figures written"
    if missing:
        summary += f"; missing: {', '.join(missing)}"
    return ok, summary, {"figures": written}


def _training_figure(path: Path) -> plots.PlotResult:
    """The figure of `snn-theory plot training` at its defaults: SELU and ReLU + batch norm
    on digits at depths 8, 16, 32, normalised initialisation (``--full`` only: about two
    minutes of training on two cores)."""
    from dataclasses import replace

    from snn_theory import train, train_plots

    base = train.TrainConfig(init="normalized")
    runs = [train.train(replace(base, variant=v, depth=d))
            for d in (8, 16, 32) for v in ("selu", "relu-bn")]
    return train_plots.training(path, runs=runs)


# --------------------------------------------------------------------------- driver
def invocation(mode: str) -> str:
    """The command line that runs ``mode``."""
    return "snn-theory reproduce" + ("" if mode == "default" else f" --{mode}")


def run(out: str | Path = ".", mode: str = "default", jobs: int | None = None,
        progress: Progress | None = None) -> Reproduction:
    """Run every stage; figures into ``OUT/figures``, certificates and the report into
    ``OUT/proofs``.  Returns the stage results (the run holds iff every stage holds)."""
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")
    jobs = jobs or os.cpu_count() or 1
    progress = progress or Progress()
    m = MODES[mode]
    out = Path(out)
    proofs, figures = out / "proofs", out / "figures"
    for d in (proofs, figures):
        writable_directory(d, "output directory")
    stages: list[StageResult] = []
    stages.append(_timed("constants", lambda: stage_constants(m, progress), progress))
    claims = _timed("claims", lambda: stage_claims(m, proofs, jobs, progress), progress)
    stages.append(claims)
    stages.append(_timed("check", lambda: stage_check(m, claims, jobs, progress), progress))
    mc = _timed("monte-carlo", lambda: stage_monte_carlo(m, progress), progress)
    stages.append(mc)
    stages.append(_timed("figures", lambda: stage_figures(m, figures, claims, mc, progress),
                         progress))
    mc.data.pop("_arrays", None)
    repro = Reproduction(mode, out, stages, None)
    t0 = time.perf_counter()
    progress.stage("writing the report", 1)
    report = write_report(repro, proofs)
    progress.advance(1, 1)
    stages.append(StageResult("report", True, time.perf_counter() - t0, f"wrote {report}"))
    repro.report = report
    full = _jsonable(repro.to_json())
    # committed outputs carry no timings or versions, so that a repeat run rewrites them
    # byte for byte; those go to the git-ignored TIMINGS_FILE
    (proofs / "reproduce.json").write_text(json.dumps(_without_timings(full), indent=1)
                                           + "\n")
    timings = {"note": "timings and software versions of the last reproduction (not "
                       "committed: they change from run to run)",
               "software": _software(), "stage_seconds": {s.name: round(s.seconds, 3)
                                                          for s in repro.stages},
               "run": _timings_only(full)}
    (proofs / TIMINGS_FILE).write_text(json.dumps(timings, indent=1) + "\n")
    return repro


#: Boxes split per round by reproduce's searches (see ``Settings.round_size``).
REPRODUCE_ROUND = 128
#: Where reproduce writes what changes from run to run (git-ignored).
TIMINGS_FILE = "reproduce.timings.json"
#: Keys holding timings or versions, kept out of the committed outputs.
VOLATILE_KEYS = frozenset({"seconds", "compile_seconds", "points_per_second", "version",
                           "software", "elapsed"})


def _without_timings(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


def _timings_only(obj: Any) -> Any:
    """The volatile entries of ``obj``, at their paths (empty branches dropped)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in VOLATILE_KEYS:
                out[k] = v
            else:
                sub = _timings_only(v)
                if sub not in ({}, [], None):
                    out[k] = sub
        return out
    if isinstance(obj, list):
        items = [_timings_only(v) for v in obj]
        return items if any(i not in ({}, [], None) for i in items) else []
    return None


def _software() -> dict[str, str]:
    from snn_theory.certificate import software_versions

    return software_versions()


def _default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple | set):
        return list(obj)
    return str(obj)


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=_default))


# --------------------------------------------------------------------------- report
def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def verdict_text(claim: dict[str, Any]) -> str:
    """holds / FALSE (expected: erratum) / FALSE / undecided, for tables."""
    holds = claim.get("holds")
    if holds is True:
        return "holds"
    if holds is False:
        return "FALSE (expected: erratum)" if claim.get("name") in EXPECTED_FALSE else "FALSE"
    return "undecided"


def _enclosure(ext: dict[str, Any]) -> str:
    if ext.get("lower") is None and ext.get("upper") is None:
        return "—"
    return f"[{ext.get('lower')}, {ext.get('upper')}]"


def _long(text: str, keep: int = 110) -> str:
    """A decimal in full up to ``keep`` characters, else its start and "… (see
    reproduce.json)" — a cut number is never presented as a bound."""
    text = str(text)
    return text if len(text) <= keep else f"{text[:keep]}… (all digits in reproduce.json)"


def write_report(repro: Reproduction, proofs: Path) -> Path:
    """Write ``proofs/REPORT.md`` (Markdown tables; numbers verbatim from the JSON)."""
    lines: list[str] = []
    add = lines.append
    status = "everything holds" if repro.ok else "NOT everything holds"
    add("# snn-theory: reproduction report")
    add("")
    add(f"`{invocation(repro.mode)}`: **{status}**.  (Timings and software versions of the "
        f"run: `proofs/{TIMINGS_FILE}`, not committed.)")
    add("")
    add("Certified numbers are rigorous enclosures computed in ball arithmetic (Arb through "
        "python-flint) and re-checked by the independent certificate checker; the Monte Carlo "
        "stage is a statistical sanity check, not a proof.")
    add("")

    const = repro.stage("constants")
    add("## Constants (docs/mathematics.md §3)")
    add("")
    cj = (const.data.get("constants") if const else None) or {}
    if cj.get("certified"):
        add("| constant | certified enclosure [lower, upper] | value | digits |")
        add("|---|---|---|---|")
        for key, name in (("lambda", "λ01"), ("alpha", "α01")):
            c = cj[key]
            add(f"| {name} | [{_long(c['lower'])}, {_long(c['upper'])}] | {_long(c['value'])} "
                f"| {cj['digits']} |")
        add("")
        add(f"Closed forms agree: {cj.get('closed_form_agrees')}. Nearest float64: "
            + ", ".join(f"{k} = {v!r}" for k, v in (cj.get("float64") or {}).items()
                        if "[" not in k) + ".")
        if cj.get("dropout"):
            add("")
            add("| dropout rate | α′ (value) | a (value) | b (value) |")
            add("|---|---|---|---|")
            for d in cj["dropout"]:
                add(f"| {d['rate']} | {_long(d['alpha_prime'])} | {_long(d['a'])} | "
                    f"{_long(d['b'])} |")
    else:
        add(f"Not certified: {const.summary if const else 'stage missing'}")
    add("")

    claims = repro.stage("claims")
    check = repro.stage("check")
    figures = repro.stage("figures")
    fig_paths = (figures.data.get("figures") if figures else None) or {}
    checked = {Path(r["path"]).name: r for r in (check.data.get("certificates", [])
                                                  if check else [])}
    add("## Claims (docs/mathematics.md §4)")
    add("")
    verify = (claims.data.get("verify") if claims else None) or {}
    if verify.get("claims"):
        add("| claim | paper's statement | checked statement | extremum | certified enclosure "
            "[lower, upper] | verdict | boxes | certificate | checker | figures |")
        add("|---|---|---|---|---|---|---|---|---|---|")
        for c in verify["claims"]:
            ext = c.get("extremum") or {}
            cert = c.get("certificate")
            rep = checked.get(Path(cert).name) if cert else None
            verdict = verdict_text(c)
            checker = ("valid" if rep and rep["valid"] else
                       f"INVALID: {rep['message']}" if rep else "—")
            figs = ", ".join(
                f"[{f}](../figures/{Path(fig_paths[f]['path']).name})"
                for f in CLAIM_FIGURES.get(c["name"], ()) if f in fig_paths
                and "path" in fig_paths[f])
            add(f"| {c['name']} | {_md(PAPER_STATEMENTS.get(c['name'], '—'))} | "
                f"{_md(c.get('statement', ''))} | {ext.get('kind', '')} | "
                f"{_enclosure(ext)} | {verdict} | {c.get('boxes')} | "
                f"{Path(cert).name if cert else '—'} | {_md(checker)} | {figs or '—'} |")
        for name in claims.data.get("skipped", []):
            add(f"| {name} | {_md(PAPER_STATEMENTS.get(name, '—'))} | not run in "
                f"--{repro.mode}: {_md(QUICK_SKIPS.get(name, ''))} | | | | | | | |")
        errata = [c for c in verify["claims"] if c.get("holds") is False
                  and c["name"] in EXPECTED_FALSE]
        if errata:
            add("")
            add("Errata (claims refuted as expected, each with a certified counterexample the "
                "checker re-verified):")
            add("")
            for c in errata:
                add(f"- **{c['name']}**: {EXPECTED_FALSE[c['name']]}. Counterexample: "
                    f"`{json.dumps(c.get('counterexample'))}`.")
    else:
        add(f"Not verified: {claims.summary if claims else 'stage missing'}")
    add("")

    mc = repro.stage("monte-carlo")
    add("## Monte Carlo (docs/mathematics.md §6; statistical, not a proof)")
    add("")
    if mc and mc.data.get("runs"):
        add("| width | depth | batch | max abs mean deviation | max abs variance deviation | "
            "converged at layer | within tolerance |")
        add("|---|---|---|---|---|---|---|")
        for run_json, chk in zip(mc.data["runs"], mc.data["checks"], strict=True):
            cfg = run_json["config"]
            dev = run_json["max_deviation"]
            add(f"| {cfg['width']} | {cfg['depth']} | {cfg['batch']} | {dev['mean']} | "
                f"{dev['variance']} | {run_json['converged_at_layer']} | "
                f"{chk['within_tolerance']} |")
        add("")
        add(f"{mc.summary}.")
        add("")
        law = mc.data.get("deviation_law") or {}
        exponent = mc.data.get("deviation_exponent")
        if exponent is not None:
            add(f"Power-law fit of the largest deviation against width: N^{exponent:.3f} "
                "(pure sampling error would give −0.5, pure finite-width fluctuation −1).")
            add("")
        if law:
            add(f"Deviation law {law['law']} (sampling error of N·B values plus the frozen "
                f"fluctuations of one network of width N): {law['verdict']}.")
    else:
        add(f"Not run: {mc.summary if mc else 'stage missing'}")
    add("")

    add("## Figures")
    add("")
    for name, info in fig_paths.items():
        if "path" in info:
            add(f"![{name}](../figures/{Path(info['path']).name})")
            add("")
        else:
            add(f"- {name}: not drawn ({_md(info.get('error'))})")
    add("")
    add("## Stages")
    add("")
    add("| stage | holds | summary |")
    add("|---|---|---|")
    for s in repro.stages:
        add(f"| {s.name} | {s.ok} | {_md(s.summary)} |")
    add("")
    path = proofs / "REPORT.md"
    path.write_text("\n".join(lines))
    return path


__all__ = ["invocation", "EXPECTED_FALSE", "MODES", "QUICK_SKIPS", "Mode", "Progress", "Reproduction", "StageResult", "StageError", "run",
           "write_report", "PAPER_STATEMENTS"]
