"""What ``snn-theory reproduce`` runs and returns: its modes, its progress events and the typed
result of each stage (frozen dataclasses with ``ok`` and a one-line ``summary``), gathered in
:class:`Reproduction`.  The stages themselves are in :mod:`snn_theory.show.reproduce.stages`; the
report that renders these results is :mod:`snn_theory.show.reproduce.report`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.certify.claims import BUILTIN_CLAIMS, EXPECTED_FALSE


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
        from snn_theory.evaluate.model import activation_of

        act = activation_of(activation)
        activation = act is not None and not act.is_selu
    if activation:
        return ("analogue", "check", "gains", "figures", "report")
    later = ("networks", "domain-map") if mode in PAVING_MODES else ()
    return ("constants", "claims", "check", "monte-carlo", "figures", *later, "report")


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


class Tell:
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

    result: Any  # snn_theory.certify.constants_result.ConstantsResult

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
    """The verifier's results (:class:`snn_theory.certify.search.result.ClaimResult`), certificates written."""

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

    reports: tuple[Any, ...]  # CheckReport: .path, .valid, .message
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

    row: Any  # snn_theory.certify.activation_table.TableRow (results: ClaimResult)
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
        from snn_theory.certify.activation_table import claim_cell

        return (f"{self.row.parameters}; S(H) at (0, 1) ∈ {self.row.spectral_norm.str(10)}; "
                f"Theorem 1 analogue {self.row.verdict}: "
                + "; ".join(claim_cell(r) for r in self.row.results))


@dataclass(frozen=True)
class GainsStage:
    """Certified gains of the activation (:class:`snn_theory.certify.gains.GainResult`)."""

    result: Any
    digits: int

    ok = True

    @property
    def summary(self) -> str:
        from snn_theory.exact import decimal_enclosure

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


def invocation(mode: str, activation: str | None = None) -> str:
    """The command line that runs ``mode`` (for ``activation``, when not SELU)."""
    return ("snn-theory reproduce" + ("" if mode == "default" else f" --{mode}")
            + (f" --activation {activation}" if activation else ""))


__all__ = ["GAIN_DIGITS", "MC_DTYPE", "MC_SUMMARY_DIGITS", "MODES", "PAVING", "PAVING_MODES", "REPRODUCE_ROUND", "AnalogueStage",
           "CheckStage", "ClaimsStage", "ConstantsStage", "DomainStage", "Figure",
           "FiguresStage", "GainsStage", "Mode", "MonteCarloStage", "Outcome", "ProgressEvent",
           "ProgressFn", "ReportStage", "Reproduction", "Stage", "StageError", "StageResult",
           "Tell", "WidthCheck", "invocation", "mc_decimals", "mc_summary", "stage_names"]
