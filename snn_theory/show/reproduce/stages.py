"""Reproduce the whole theory in one run (``snn-theory reproduce``): the stages.

Each stage is a function returning a typed result (a frozen dataclass with ``ok`` and a
one-line ``summary``); :func:`run` times them, passes each result to the stages that need it,
and hands the lot to :mod:`snn_theory.show.reproduce.report`, which writes REPORT.md and the
JSON report.  Progress is a callback taking :class:`ProgressEvent`; the command line draws
the bars and maps :attr:`Reproduction.outcome` to its exit code.

SELU (the default) — stages:

1. **constants** — λ01, α01 certified (Krawczyk test in ball arithmetic) at ``digits``, the
   closed forms compared, alpha-dropout constants (:func:`snn_theory.certify.constants.solve_constants`;
   the same object ``snn-theory solve-constants --json`` prints);
2. **claims** — every built-in claim of :mod:`snn_theory.certify.claims` decided by the verifier's
   entry point (:func:`snn_theory.certify.search.loop.verify_claims`, as ``verify-contraction`` does) with
   certificates written to ``OUT/proofs``;
3. **check** — every certificate re-verified by the independent checker
   (:func:`snn_theory.certify.certificate.check.check_certificate`);
4. **monte-carlo** — wide networks (normalised weights) simulated at a few widths
   (:func:`snn_theory.simulate.engine.simulate`; each run is what ``snn-theory simulate --json``
   prints for the same configuration).  A statistical sanity check, not a proof;
5. **figures** — every figure of :mod:`snn_theory.show.figures` into ``OUT/figures``;
6. **domain-map** (the default and ``--full`` runs, not ``--quick``: the checker takes
   about 35 s) — the committed paving
   certificate of the (ω, τ) domain map (``proofs/domain.paving.json.gz``) re-checked from
   scratch by :func:`snn_theory.certify.domains.check_paving`, and its figure redrawn
   (``figures/domain_map.png``);
7. **report** — ``OUT/proofs/REPORT.md`` and ``OUT/proofs/reproduce.json``.

Another activation (``--activation NAME``) — everything into ``OUT/proofs/<name>/`` and
``OUT/figures/<name>/``, never over the SELU outputs:

1. **analogue** — the parameters c, d of c·f + d that make (0, 1) the fixed point at ω = 0,
   τ = 1, S(H) there, and the Theorem 1 analogue on the paper's domain, claim by claim, with
   certificates (:func:`snn_theory.certify.activation_table.table`, as ``activation-table`` does);
2. **check** — each certificate re-verified (:func:`snn_theory.certify.activation_verify.
   check_certificate_file`);
3. **gains** — the certified gains γ_var, γ_2 of f itself (:func:`snn_theory.certify.gains.
   certified_gains`, as ``snn-theory gain``);
4. **figures** — what ``snn-theory plot … --activation`` draws, for c·f + d: flow field,
   contraction, variance change, fixed points, convergence (seconds), and (``--full`` only:
   minutes of training) the training figure with the activation as an extra variant;
5. **report**.

Only enclosures computed in ball arithmetic (and re-checked by the independent checker) are
called *certified*; the Monte Carlo stage holds when its statistical sanity bound holds.
"""

from __future__ import annotations

import enum
import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.certify.claims import BUILTIN_CLAIMS, EXPECTED_FALSE
from snn_theory.errors import InputError, NumericalFailure
from snn_theory.evaluate.model import activation_of
from snn_theory.files import writable_directory


# --------------------------------------------------------------------------- modes
@dataclass(frozen=True)
class Mode:
    """Sizes of one reproduction run."""

    name: str
    digits: int                     # digits of the certified constants
    dropout_rates: tuple[str, ...]  # alpha-dropout rates for the constants table
    grid: str                       # verify-contraction --grid
    tolerance: str | None           # verify-contraction --tolerance (None: its default)
    mc_widths: tuple[int, ...]      # widths on CPU
    mc_depth: int
    mc_batch: int
    mc_start: tuple[float, float]   # (μ0, ν0)
    flow_monte_carlo: bool          # overlay simulated trajectories on the flow field
    figure_grid: float              # resolution factor of the figures' grids
    activation_seconds: float       # time limit per claim of another activation
    mc_widths_accel: tuple[int, ...] = ()  # widths when JAX runs on a GPU/TPU (() = same)
    mc_batch_accel: int = 0                # batch on a GPU/TPU (0 = same)

    @property
    def claims(self) -> tuple[str, ...]:
        """The built-in claims verified: all of them, in every mode."""
        return tuple(BUILTIN_CLAIMS)

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


MODES: dict[str, Mode] = {
    "quick": Mode(
        "quick", digits=50, dropout_rates=("0.05", "0.1"), grid="coarse", tolerance=None,
        mc_widths=(64, 256), mc_depth=20, mc_batch=32, mc_start=(0.5, 2.0),
        flow_monte_carlo=False, figure_grid=0.5, activation_seconds=20.0),
    # the committed outputs: the same sizes on every device (no larger accelerator sizes)
    "default": Mode(
        "default", digits=100, dropout_rates=("0.05", "0.1"), grid="coarse", tolerance=None,
        mc_widths=(128, 512, 2048), mc_depth=30, mc_batch=128, mc_start=(0.5, 2.0),
        flow_monte_carlo=True, figure_grid=1.0, activation_seconds=60.0),
    "full": Mode(
        "full", digits=1000, dropout_rates=("0.05", "0.1", "0.2"), grid="fine",
        tolerance=None, mc_widths=(256, 1024, 4096, 8192), mc_depth=60, mc_batch=256,
        mc_start=(0.5, 2.0), flow_monte_carlo=True, figure_grid=1.5,
        activation_seconds=120.0, mc_widths_accel=(2048, 8192, 32768), mc_batch_accel=4096),
}

#: Boxes split per round by reproduce's searches (see ``Settings.round_size``): the same
#: leaves (and certificates) whatever the number of cores.
REPRODUCE_ROUND = 128
#: Digits of the gains of another activation.
GAIN_DIGITS = 20
#: The committed paving certificate of the domain map, relative to a repository root.
PAVING = Path("proofs") / "domain.paving.json.gz"
#: The modes that re-check the committed paving (the checker takes about 35 s).
PAVING_MODES: tuple[str, ...] = ("default", "full")


def stage_names(mode: str = "default", activation: Any = False) -> tuple[str, ...]:
    """The stages of a run, in order.  ``activation``: the activation of the run (a name,
    an expression, an Activation or a moment model; SELU or None: the paper's run), or a
    bool saying whether the run is for another activation than SELU."""
    if not isinstance(activation, bool):
        act = activation_of(activation)
        activation = act is not None and not act.is_selu
    if activation:
        return ("analogue", "check", "gains", "figures", "report")
    domain = ("domain-map",) if mode in PAVING_MODES else ()
    return ("constants", "claims", "check", "monte-carlo", "figures", *domain, "report")


# --------------------------------------------------------------------------- progress
@dataclass(frozen=True)
class ProgressEvent:
    """What a run tells its progress callback.

    ``kind``: "start" (a stage starts: ``text`` says what it does, ``total`` its number of
    steps, None when unknown), "advance" (``done`` of ``total`` steps finished), "status"
    (``text``: what the stage is doing now) or "done" (the stage finished after ``seconds``;
    ``text`` is its summary, ``ok`` whether it holds).
    """

    kind: str
    stage: str
    text: str = ""
    done: int = 0
    total: int | None = None
    seconds: float = 0.0
    ok: bool = True


ProgressFn = Callable[[ProgressEvent], None]


class _Tell:
    """The callback bound to one stage (what the stage functions call)."""

    def __init__(self, progress: ProgressFn | None, stage: str) -> None:
        self.progress, self.stage = progress, stage

    def start(self, text: str, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent("start", self.stage, text, 0, total))

    def advance(self, done: int, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent("advance", self.stage, "", done, total))

    def status(self, text: str) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent("status", self.stage, text))


class StageError(RuntimeError):
    """A stage could not run (a missing piece); says why in one line."""


# --------------------------------------------------------------------------- typed results
@dataclass(frozen=True)
class ConstantsStage:
    """λ01, α01 as :func:`snn_theory.certify.constants.solve_constants` certified them."""

    result: Any  # snn_theory.certify.constants.ConstantsResult

    @property
    def ok(self) -> bool:
        return bool(self.result.certified) and bool(self.result.ok)

    @property
    def summary(self) -> str:
        j = self.result.to_json()
        if not j.get("certified"):
            return "NOT certified"
        agree = j.get("closed_form_agrees")
        return (f"certified to {j['digits']} digits; closed forms "
                f"{'agree' if agree else 'DISAGREE' if agree is False else 'not compared'}")


@dataclass(frozen=True)
class ClaimsStage:
    """The verifier's results (:class:`snn_theory.certify.search.loop.ClaimResult`), certificates written."""

    results: tuple[Any, ...]

    @property
    def holding(self) -> tuple[str, ...]:
        return tuple(r.claim.name for r in self.results if r.holds is True)

    @property
    def errata(self) -> tuple[str, ...]:
        """Claims refuted as :data:`snn_theory.certify.claims.EXPECTED_FALSE` says they are."""
        return tuple(r.claim.name for r in self.results
                     if r.holds is False and r.claim.name in EXPECTED_FALSE)

    @property
    def unexpected(self) -> tuple[str, ...]:
        return tuple(r.claim.name for r in self.results
                     if r.claim.name not in self.holding and r.claim.name not in self.errata)

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.unexpected

    @property
    def summary(self) -> str:
        errata, unexpected = self.errata, self.unexpected
        return (f"{len(self.holding)}/{len(self.results)} claims hold (certified)"
                + (f", {len(errata)} refuted as expected (paper erratum: "
                   f"{', '.join(errata)})" if errata else "")
                + (f", NOT as expected: {', '.join(unexpected)}" if unexpected else "")
                + f"; {sum(len(r.leaves) for r in self.results)} leaf boxes")


@dataclass(frozen=True)
class CheckStage:
    """The independent checker's report on each certificate (``check-certificate``)."""

    reports: tuple[Any, ...]  # CheckReport / ActivationCheckReport: .path, .valid, .message
    missing: tuple[str, ...]  # claims without a certificate
    nothing_to_check: bool = False  # no claim was decided at all

    @property
    def valid(self) -> tuple[Any, ...]:
        return tuple(r for r in self.reports if r.valid)

    @property
    def ok(self) -> bool:
        return not self.nothing_to_check and not self.missing \
            and len(self.valid) == len(self.reports)

    @property
    def summary(self) -> str:
        text = f"{len(self.valid)}/{len(self.reports)} certificates valid"
        if self.missing:
            text += f"; no certificate for {', '.join(self.missing)}"
        return text


@dataclass(frozen=True)
class WidthCheck:
    """The sanity bound at one width: every layer within 2·(1 + ν_l)/√N of the iterates."""

    width: int
    within_tolerance: bool


@dataclass(frozen=True)
class MonteCarloStage:
    """Simulated wide networks against the iterates of g (statistical, not a proof)."""

    widths: tuple[int, ...]
    batch: int
    runs: tuple[Any, ...]  # snn_theory.simulate.SimulationResult, one per width
    checks: tuple[WidthCheck, ...]
    trajectories: dict[int, np.ndarray] = field(repr=False)  # width → (depth + 1, 2) (μ, ν)
    settled: bool
    deviation_exponent: float | None
    deviation_law: Any | None  # snn_theory.simulate.DeviationLaw

    @property
    def final_widest(self) -> tuple[float, float]:
        last = self.trajectories[max(self.trajectories)][-1]
        return float(last[0]), float(last[1])

    @property
    def ok(self) -> bool:
        return self.settled and all(c.within_tolerance for c in self.checks)

    @property
    def summary(self) -> str:
        mu, nu = self.final_widest
        return (f"{'within' if self.ok else 'NOT within'} the sanity bound (statistical): at "
                f"every layer widths {', '.join(map(str, self.widths))} (batch {self.batch}) "
                f"stay within 2·(1 + ν)/√N of the iterates of g, and the widest ends at "
                f"(μ, ν) = ({mu:.4f}, {nu:.4f}), near the fixed point (0, 1)")


@dataclass(frozen=True)
class Figure:
    """One figure: written (``path`` and the summary of its numbers) or not (``error``)."""

    name: str
    path: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class FiguresStage:
    figures: tuple[Figure, ...]
    expected: tuple[str, ...]
    note: str = ""  # why there are no (or fewer) figures in this mode

    def get(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)

    @property
    def missing(self) -> tuple[str, ...]:
        drawn = {f.name for f in self.figures if f.path is not None}
        return tuple(n for n in self.expected if n not in drawn)

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def summary(self) -> str:
        text = f"{len(self.expected) - len(self.missing)}/{len(self.expected)} figures written"
        if self.missing:
            text += f"; missing: {', '.join(self.missing)}"
        if self.note:
            text += f" ({self.note})"
        return text


@dataclass(frozen=True)
class DomainStage:
    """The committed paving certificate of the domain map, re-checked from scratch."""

    certificate: Path
    report: Any  # snn_theory.certify.domains.PavingReport
    figure: Figure | None

    @property
    def ok(self) -> bool:
        return bool(self.report.valid) and self.figure is not None and self.figure.path is not None

    @property
    def summary(self) -> str:
        r = self.report
        if not r.valid:
            return f"paving {self.certificate} REJECTED: {r.message}"
        text = (f"{self.certificate} re-checked: {r.message}; proven area "
                f"{r.areas.get('proven')}")
        if r.largest:
            text += f", largest certified rectangle area {r.largest['area']}"
        if self.figure is not None and self.figure.error:
            text += f"; figure not drawn: {self.figure.error}"
        return text


@dataclass(frozen=True)
class AnalogueStage:
    """Another activation's normalised parameters and its Theorem 1 analogue."""

    row: Any  # snn_theory.certify.activation_table.TableRow (results: ActivationClaimResult)
    time_limit: float
    max_boxes: int

    @property
    def ok(self) -> bool:
        return self.row.verdict == "proven"

    @property
    def not_certified(self) -> bool:
        """Every claim ran, some is refuted or undecided: reported as such, nothing false
        is claimed (exit 3, not a failure of the run)."""
        return not self.ok

    @property
    def summary(self) -> str:
        from snn_theory.certify.activation_table import _claim_cell

        return (f"{self.row.parameters}; S(H) at (0, 1) ∈ {self.row.spectral_norm.str(10)}; "
                f"Theorem 1 analogue {self.row.verdict}: "
                + "; ".join(_claim_cell(r) for r in self.row.results))


@dataclass(frozen=True)
class GainsStage:
    """Certified gains of the activation (:class:`snn_theory.certify.gains.GainResult`)."""

    result: Any
    digits: int

    ok = True

    @property
    def summary(self) -> str:
        from snn_theory.certify.constants import decimal_enclosure

        gv = decimal_enclosure(self.result.variance_gain, 10)
        g2 = decimal_enclosure(self.result.second_moment_gain, 10)
        return (f"certified: γ_var ∈ [{gv.lower}, {gv.upper}], γ_2 ∈ [{g2.lower}, {g2.upper}]"
                f" ({self.digits} decimals in the report)")


@dataclass(frozen=True)
class ReportStage:
    path: Path

    ok = True

    @property
    def summary(self) -> str:
        return f"wrote {self.path}"


StageResult = (ConstantsStage | ClaimsStage | CheckStage | MonteCarloStage | FiguresStage
               | DomainStage | AnalogueStage | GainsStage | ReportStage)


@dataclass(frozen=True)
class Stage:
    """One timed stage: its typed result, or the error that stopped it."""

    name: str
    seconds: float
    result: StageResult | None
    error: str | None = None
    #: the error is the mathematics', not a failure of the run (an enclosure that did not
    #: decide, ArithmeticError): nothing is certified
    not_certified: bool = False

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok

    @property
    def summary(self) -> str:
        if self.result is None:
            return f"failed: {' '.join(str(self.error).split())}"
        return self.result.summary


class Outcome(enum.Enum):
    """What a reproduction established (the command line maps it to an exit code)."""

    HOLDS = "holds"  # every stage holds
    NOT_CERTIFIED = "not certified"  # claims refuted or undecided, reported as such
    FAILED = "failed"  # a stage did not hold as expected


@dataclass(frozen=True)
class Reproduction:
    mode: str
    out: Path
    stages: tuple[Stage, ...]
    report: Path | None
    #: None for SELU; else the activation whose analogue was reproduced
    activation: Any | None = None
    #: where this run's certificates and figures went
    proofs: Path = Path("proofs")
    figures: Path = Path("figures")

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.stages)

    @property
    def outcome(self) -> Outcome:
        failing = [s for s in self.stages if not s.ok]
        if not failing:
            return Outcome.HOLDS
        if all(s.not_certified or getattr(s.result, "not_certified", False) for s in failing):
            return Outcome.NOT_CERTIFIED
        return Outcome.FAILED

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    def result(self, name: str) -> StageResult | None:
        s = self.stage(name)
        return None if s is None else s.result


# --------------------------------------------------------------------------- SELU stages
def stage_constants(mode: Mode, tell: _Tell) -> ConstantsStage:
    from snn_theory.certify.constants import solve_constants

    tell.start("certifying λ01, α01", 1)
    result = solve_constants(digits=mode.digits, dropout_rates=tuple(mode.dropout_rates))
    tell.advance(1, 1)
    return ConstantsStage(result)


def stage_claims(mode: Mode, proofs: Path, jobs: int, tell: _Tell) -> ClaimsStage:
    """Every built-in claim through :func:`snn_theory.certify.search.loop.verify_claims` (the entry point
    ``verify-contraction`` uses), certificates into ``proofs``."""
    from snn_theory.certify.search.loop import DEFAULT_TOLERANCE, Settings, verify_claims
    from snn_theory.certify.search.workers import Constants
    from snn_theory.exact import parse_exact

    names = mode.claims
    tell.start(f"verifying {len(names)} built-in claims (--grid {mode.grid})", len(names))
    tol = DEFAULT_TOLERANCE if mode.tolerance is None else parse_exact(mode.tolerance,
                                                                         "tolerance")
    settings = Settings(grid=mode.grid, tolerance=tol, jobs=jobs, constants=Constants(),
                        state_dir=proofs / ".state", resume=False, round_size=REPRODUCE_ROUND)
    finished: list[Any] = []

    def searching(claim: Any, status: Any) -> None:
        tell.advance(len(finished), len(names))
        tell.status(f"{claim.name}: {status.boxes} boxes")

    def done(result: Any) -> None:
        finished.append(result)
        tell.advance(len(finished), len(names))
        tell.status(f"{result.claim.name}: {len(result.leaves)} boxes")

    results = verify_claims([BUILTIN_CLAIMS[n] for n in names], settings, proofs, searching,
                            done)
    return ClaimsStage(tuple(results))


def stage_check(mode: Mode, claims: ClaimsStage | None, jobs: int, tell: _Tell) -> CheckStage:
    from snn_theory.certify.certificate.check import check_certificate

    results = claims.results if claims is not None else ()
    paths = [Path(r.certificate) for r in results if r.certificate]
    missing = tuple(r.claim.name for r in results if not r.certificate)
    tell.start("re-checking the certificates independently", len(paths) or None)
    # Measured (2 loaded cores): the checker's process pool costs more than it saves on
    # certificates of a few thousand boxes (8 quick-mode files: 6.9 s with 1 job, 29 s with
    # 2), so only --full, with its fine grid, checks in parallel.
    reports = []
    for k, path in enumerate(paths):
        reports.append(check_certificate(path, jobs=jobs if mode.name == "full" else 1))
        tell.advance(k + 1, len(paths))
    return CheckStage(tuple(reports), missing, nothing_to_check=not results)


#: The float format of reproduce's Monte Carlo (see :func:`stage_monte_carlo`).
MC_DTYPE = "float64"
#: Significant digits kept of statistical summaries (deviations, fitted constants): their
#: own relative error is tens of percent.
MC_SUMMARY_DIGITS = 2


def mc_decimals(width: int, batch: int) -> int:
    """Decimals of a Monte Carlo mean or variance that its error law supports: one digit
    below a tenth of the sampling error 1/sqrt(width·batch) (4 for the default sizes).
    The committed outputs keep these, so that they do not depend on the machine."""
    return math.ceil(1 + math.log10(math.sqrt(width * batch)))


def mc_summary(x: float | None) -> float | None:
    """A statistical summary rounded to :data:`MC_SUMMARY_DIGITS` significant digits."""
    return None if x is None or not math.isfinite(x) else float(f"{x:.{MC_SUMMARY_DIGITS}g}")


def stage_monte_carlo(mode: Mode, tell: _Tell) -> MonteCarloStage:
    """Criterion (statistical, a sanity bound rather than a test of the scaling law): at
    every layer l the empirical mean and variance of a width-N network lie within
    2·(1 + ν_l)/√N of the analytic iterates (μ_l, ν_l), and the widest network ends within
    0.05 + 4/√N of the fixed point (0, 1).  Separately, and not part of the criterion, the
    deviation law a/√(N·B) + b/N is fitted and tested
    (:func:`snn_theory.simulate.sweeps.fit_deviation_law`; untested with fewer than 3 widths)."""
    from snn_theory.simulate import engine as sim
    from snn_theory.simulate.sweeps import fit_deviation_law

    widths, batch = mode.monte_carlo_sizes()
    tell.start("simulating wide networks", len(widths))
    runs, checks, trajectories = [], [], {}
    mu0, nu0 = mode.mc_start
    for k, width in enumerate(widths):
        # float64: what differs from machine to machine (the order of the sums) stays near
        # 1e-14, far below the digits the outputs keep (mc_decimals), so that the committed
        # numbers and figure are the same everywhere
        config = sim.SimulationConfig(width=width, depth=mode.mc_depth, batch=batch,
                                      mean0=mu0, var0=nu0, weights="normalized", seed=0,
                                      dtype=MC_DTYPE)
        result = sim.simulate(config)
        raw = np.stack([np.asarray(result.mean, float), np.asarray(result.variance, float)],
                       axis=1)
        layers = result.to_json()["layers"]
        predicted = np.array([[row["predicted_mean"], row["predicted_variance"]]
                              for row in layers], float)
        tol = 2.0 * (1.0 + predicted[:, 1]) / math.sqrt(width)
        checks.append(WidthCheck(width, bool(np.all(np.abs(raw - predicted) <= tol[:, None]))))
        runs.append(result)
        trajectories[width] = np.round(raw, mc_decimals(width, batch))  # what is drawn
        tell.advance(k + 1, len(widths))
    widest = trajectories[max(trajectories)][-1]
    slack = 0.05 + 4.0 / math.sqrt(max(trajectories))
    settled = bool(abs(widest[0]) <= slack and abs(widest[1] - 1) <= slack)
    exponent, law = None, None
    if len(widths) >= 2:
        dev = [max(r.to_json()["max_deviation"]["mean"], r.to_json()["max_deviation"]["variance"])
               for r in runs]
        if all(d > 0 for d in dev):
            exponent = float(np.polyfit(np.log(widths), np.log(dev), 1)[0])
            law = fit_deviation_law(widths, batch, dev)
    return MonteCarloStage(tuple(widths), batch, tuple(runs), tuple(checks), trajectories,
                           settled, exponent, law)


def _draw(name: str, make: Callable[[], Any]) -> Figure:

    result = make()
    return Figure(name, Path(result.path), dict(result.summary))


def stage_figures(mode: Mode, figures: Path, claims: ClaimsStage | None,
                  mc: MonteCarloStage | None, tell: _Tell) -> FiguresStage:
    from snn_theory.show import figures as plots

    g = mode.figure_grid
    cert = next((r.certificate for r in (claims.results if claims else ())
                 if r.claim.name == "appendix.contraction_wide_tau" and r.certificate), None)
    arrays = mc.trajectories if mc is not None and mc.ok else None
    jobs: list[tuple[str, Callable[[], Any]]] = [
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
            figures / "convergence.png", depth=mode.mc_depth, batch=mc.batch, mean0=mu0,
            var0=nu0, empirical=arrays)))
    tell.start("drawing the figures", len(jobs))
    drawn = []
    for k, (name, make) in enumerate(jobs):
        drawn.append(_draw(name, make))
        tell.advance(k + 1, len(jobs))
    expected = ("flow_field", "contraction", "variance_change", "fixed_points",
                "convergence") + propagation + (("training",) if mode.name == "full" else ())
    return FiguresStage(tuple(drawn), expected)


def _training_figure(path: Path, activation: str | None = None) -> Any:
    """The figure of `snn-theory plot training` at its defaults: SELU and ReLU + batch norm
    on digits at depths 8, 16, 32, normalised initialisation (``--full`` only: about two
    minutes of training on two cores); with ``activation``, that activation as one more
    variant (as ``plot training --activation``)."""
    from snn_theory.show import training_figures as train_plots
    from snn_theory.simulate import training as train

    base = train.TrainConfig(init="normalized")
    variants = [(v, {}) for v in ("selu", "relu-bn")]
    if activation is not None:
        variants.append((train.ACTIVATION_VARIANT, {"activation": activation}))
    runs = [train.train(replace(base, variant=v, depth=d, **extra))
            for d in (8, 16, 32) for v, extra in variants]
    return train_plots.training(path, runs=runs)


def paving_certificate(out: Path) -> Path | None:
    """The paving certificate to re-check: ``OUT/proofs/domain.paving.json.gz``, else the
    one committed with the package's repository; None when there is neither."""
    for root in (out, Path(__file__).resolve().parents[3]):
        if (root / PAVING).is_file():
            return root / PAVING
    return None


def stage_domain(out: Path, figures: Path, tell: _Tell) -> DomainStage:
    """Re-check the committed paving from scratch (every cell's evidence re-derived by
    :func:`snn_theory.certify.domains.check_paving`; nothing read from it is trusted) and redraw its
    figure (:func:`snn_theory.show.domain_figures.domain_map`, which checks it once more before
    drawing)."""
    from snn_theory.certify import domains
    from snn_theory.show import domain_figures as domain_plots

    path = paving_certificate(out)
    if path is None:
        raise StageError(f"no paving certificate {PAVING} under {out} or the repository")
    tell.start(f"re-checking the paving {PAVING}", None)
    report = domains.check_paving(path, progress=lambda k, n: tell.advance(k, n))
    figure = None
    if report.valid:
        tell.start("drawing the domain map", 1)
        figure = _draw("domain_map", lambda: domain_plots.domain_map(
            figures / "domain_map.png", certificate=path, report=report))
        tell.advance(1, 1)
    return DomainStage(path, report, figure)


# --------------------------------------------------------------------------- another activation
def folder_name(act: Any) -> str:
    """The sub-folder of another activation's outputs: its built-in name, or ``expr-<hash>``
    for an expression (never ``selu``: SELU's outputs are the top-level ones)."""
    from snn_theory.derive import activations

    if act.definition in activations.NAMES:
        return act.definition
    return "expr-" + hashlib.sha256(act.definition.encode()).hexdigest()[:10]


def stage_analogue(mode: Mode, definition: str, proofs: Path, jobs: int,
                   tell: _Tell) -> AnalogueStage:
    from snn_theory.certify import activation_table, activation_verify

    tell.start("solving c, d and deciding the Theorem 1 analogue",
               len(activation_verify.theorem1_analogue()))
    count = [0]

    def progress(text: str) -> None:
        tell.advance(count[0], len(activation_verify.theorem1_analogue()))
        count[0] += 1
        tell.status(text)

    max_boxes = activation_verify.DEFAULT_MAX_BOXES
    row = activation_table.table((definition,), time_limit=mode.activation_seconds,
                                 max_boxes=max_boxes, jobs=jobs, certificate_dir=proofs,
                                 progress=progress)[0]
    return AnalogueStage(row, mode.activation_seconds, max_boxes)


def stage_activation_check(analogue: AnalogueStage | None, tell: _Tell) -> CheckStage:
    from snn_theory.certify.activation_verify import check_certificate_file

    results = analogue.row.results if analogue is not None else []
    paths = [Path(r.certificate) for r in results if r.certificate]
    # undecided claims have no certificate, and say so in their own stage
    missing = tuple(r.claim.name for r in results
                    if not r.certificate and r.verdict != "undecided")
    tell.start("re-checking the certificates independently", len(paths) or None)
    reports = []
    for k, path in enumerate(paths):
        reports.append(check_certificate_file(path))
        tell.advance(k + 1, len(paths))
    return CheckStage(tuple(reports), missing, nothing_to_check=not results)


def stage_gains(act: Any, tell: _Tell) -> GainsStage:
    from snn_theory.certify.gains import certified_gains
    from snn_theory.precision import working_precision

    tell.start("certifying the gains", 1)
    with working_precision(digits=GAIN_DIGITS + 10):
        result = certified_gains(act)
    tell.advance(1, 1)
    return GainsStage(result, GAIN_DIGITS)


def stage_activation_figures(mode: Mode, definition: str, figures: Path,
                             tell: _Tell) -> FiguresStage:
    """What ``snn-theory plot … --activation`` draws, for the member c·f + d of the
    activation that makes (0, 1) the fixed point (without c, d the moment map of tanh, GELU,
    … has only the trivial fixed point ν* = 0): the flow field, contraction, variance change,
    fixed points and Monte Carlo convergence at the mode's grids (seconds), and (``--full``)
    the training figure (minutes)."""
    from snn_theory.certify.activation_table import normalized
    from snn_theory.show import figures as plots

    act, _ = normalized(definition)
    g = mode.figure_grid
    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("flow_field", lambda: plots.flow_field(
            figures / "flow_field.png", grid=max(int(21 * min(g, 1)), 11), activation=act)),
        ("contraction", lambda: plots.contraction(
            figures / "contraction.png", grid=int(121 * g), activation=act)),
        ("variance_change", lambda: plots.variance_change(
            figures / "variance_change.png", grid=int(161 * g), activation=act)),
        ("fixed_points", lambda: plots.fixed_points(
            figures / "fixed_points.png", grid=int(41 * g), activation=act)),
        ("convergence", lambda: plots.convergence(figures / "convergence.png", activation=act)),
    ]
    if mode.name == "full":
        jobs.append(("training", lambda: _training_figure(figures / "training.png",
                                                          definition)))
    tell.start("drawing the figures", len(jobs))
    drawn = []
    for k, (name, make) in enumerate(jobs):
        drawn.append(_draw(name, make))
        tell.advance(k + 1, len(jobs))
    return FiguresStage(tuple(drawn), tuple(name for name, _ in jobs))


# --------------------------------------------------------------------------- driver
def invocation(mode: str, activation: str | None = None) -> str:
    """The command line that runs ``mode`` (for ``activation``, when not SELU)."""
    return ("snn-theory reproduce" + ("" if mode == "default" else f" --{mode}")
            + (f" --activation {activation}" if activation else ""))


def _timed(name: str, fn: Callable[[_Tell], StageResult],
           progress: ProgressFn | None) -> Stage:
    tell = _Tell(progress, name)
    t0 = time.perf_counter()
    try:
        stage = Stage(name, 0.0, fn(tell))
    except (StageError, InputError, NumericalFailure) as exc:
        stage = Stage(name, 0.0, None, str(exc))
    except ArithmeticError as exc:  # an enclosure that did not decide: nothing certified
        stage = Stage(name, 0.0, None, f"not certified: {exc}", not_certified=True)
    stage = replace(stage, seconds=time.perf_counter() - t0)
    if progress is not None:
        progress(ProgressEvent("done", name, stage.summary, seconds=stage.seconds,
                               ok=stage.ok))
    return stage


def run(out: str | Path = ".", mode: str = "default", jobs: int | None = None,
        progress: ProgressFn | None = None, activation: Any | None = None) -> Reproduction:
    """Run every stage; for SELU (``activation`` None or SELU) figures into ``OUT/figures``,
    certificates and the report into ``OUT/proofs``; for another activation (an
    :class:`snn_theory.derive.activations.Activation` built from a name or an expression, scale 1
    and shift 0: reproduce solves c, d itself) into ``OUT/proofs/<name>/`` and
    ``OUT/figures/<name>/``.  Returns the typed stages (the run holds iff every stage holds)
    after writing the reports (:func:`snn_theory.show.reproduce.report.write`)."""
    from snn_theory.show.reproduce import report as rep

    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")
    activation = activation_of(activation)
    if activation is not None and activation.is_selu:
        activation = None
    if activation is not None and (activation.scale != 1 or activation.shift != 0):
        raise InputError("reproduce --activation solves c, d of c·f + d itself; give the "
                         "activation without --scale/--shift")
    jobs = jobs or os.cpu_count() or 1
    m = MODES[mode]
    out = Path(out)
    proofs, figures = out / "proofs", out / "figures"
    if activation is not None:
        proofs, figures = proofs / folder_name(activation), figures / folder_name(activation)
    for d in (proofs, figures):
        writable_directory(d, "output directory")
    stages: list[Stage] = []
    if activation is None:
        stages.append(_timed("constants", lambda t: stage_constants(m, t), progress))
        claims = _timed("claims", lambda t: stage_claims(m, proofs, jobs, t), progress)
        stages.append(claims)
        stages.append(_timed("check", lambda t: stage_check(m, claims.result, jobs, t),
                             progress))
        mc = _timed("monte-carlo", lambda t: stage_monte_carlo(m, t), progress)
        stages.append(mc)
        stages.append(_timed("figures", lambda t: stage_figures(m, figures, claims.result,
                                                                mc.result, t), progress))
        if mode in PAVING_MODES:
            stages.append(_timed("domain-map", lambda t: stage_domain(out, figures, t),
                                 progress))
    else:
        definition = activation.definition
        analogue = _timed("analogue", lambda t: stage_analogue(m, definition, proofs, jobs, t),
                          progress)
        stages.append(analogue)
        stages.append(_timed("check", lambda t: stage_activation_check(analogue.result, t),
                             progress))
        stages.append(_timed("gains", lambda t: stage_gains(activation, t), progress))
        stages.append(_timed("figures", lambda t: stage_activation_figures(
            m, definition, figures, t), progress))
    repro = Reproduction(mode, out, tuple(stages), None, activation, proofs, figures)
    report = _timed("report", lambda t: _write_report(rep, repro, t), progress)
    repro = replace(repro, stages=(*repro.stages, report),
                    report=report.result.path if report.result else None)
    rep.write_json(repro)
    return repro


def _write_report(rep: Any, repro: Reproduction, tell: _Tell) -> ReportStage:
    tell.start("writing the report", 1)
    path = rep.write_report(repro)
    tell.advance(1, 1)
    return ReportStage(path)


__all__ = ["MODES", "Mode", "Outcome", "ProgressEvent", "ProgressFn", "Reproduction", "Stage",
           "StageError", "invocation", "run", "stage_names"]
