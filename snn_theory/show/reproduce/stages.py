"""Reproduce the whole theory in one run (``snn-theory reproduce``): the stages.

Each stage is a function returning a typed result (a frozen dataclass with ``ok`` and a
one-line ``summary``, defined in :mod:`snn_theory.show.reproduce.results`); :func:`run` times them, passes each result to the stages that need it,
and hands the lot to :mod:`snn_theory.show.reproduce.report`, which writes REPORT.md and the
JSON report.  Progress is a callback taking a ``ProgressEvent``; the command line draws
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
   **networks** — the Theorem 1 analogue of alpha dropout and residual SELU blocks with
   certificates, checked, and certified tables (residual weights, DyT's α, layer_norm) in
   ``OUT/proofs/networks`` (:mod:`snn_theory.show.reproduce.networks`; about 15 s; the
   default and ``--full`` runs, not ``--quick``);
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
2. **check** — each certificate re-verified by the one checker
   (:func:`snn_theory.certify.certificate.check.check_certificate`);
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

import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.certify.claims import BUILTIN_CLAIMS
from snn_theory.errors import InputError, NumericalFailure
from snn_theory.evaluate.model import activation_of
from snn_theory.files import writable_directory
from snn_theory.show.reproduce.networks import stage_networks
from snn_theory.show.reproduce.results import (
    GAIN_DIGITS,
    MC_DTYPE,
    MODES,
    PAVING,
    PAVING_MODES,
    REPRODUCE_ROUND,
    AnalogueStage,
    CheckStage,
    ClaimsStage,
    ConstantsStage,
    DomainStage,
    Figure,
    FiguresStage,
    GainsStage,
    Mode,
    MonteCarloStage,
    ProgressEvent,
    ProgressFn,
    ReportStage,
    Reproduction,
    Stage,
    StageError,
    StageResult,
    Tell,
    WidthCheck,
    mc_decimals,
)


# --------------------------------------------------------------------------- SELU stages
def stage_constants(mode: Mode, tell: Tell) -> ConstantsStage:
    from snn_theory.certify.constants import solve_constants

    tell.start("certifying λ01, α01", 1)
    result = solve_constants(digits=mode.digits, dropout_rates=tuple(mode.dropout_rates))
    tell.advance(1, 1)
    return ConstantsStage(result)


def stage_claims(mode: Mode, proofs: Path, jobs: int, tell: Tell) -> ClaimsStage:
    """Every built-in claim through :func:`snn_theory.certify.search.loop.verify_claims` (the entry point
    ``verify-contraction`` uses), certificates into ``proofs``."""
    from snn_theory.certify.search.bounders import ClosedFormBounder
    from snn_theory.certify.search.loop import verify_claims
    from snn_theory.certify.search.settings import DEFAULT_TOLERANCE, Settings
    from snn_theory.exact import parse_exact

    names = mode.claims
    tell.start(f"verifying {len(names)} built-in claims (--grid {mode.grid})", len(names))
    tol = DEFAULT_TOLERANCE if mode.tolerance is None else parse_exact(mode.tolerance,
                                                                         "tolerance")
    settings = Settings(grid=mode.grid, tolerance=tol, jobs=jobs, bounder=ClosedFormBounder(),
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


def stage_check(mode: Mode, claims: ClaimsStage | None, jobs: int, tell: Tell) -> CheckStage:
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


def stage_monte_carlo(mode: Mode, tell: Tell) -> MonteCarloStage:
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
                  mc: MonteCarloStage | None, tell: Tell) -> FiguresStage:
    from snn_theory.show import flow_figures, map_figures, network_figures, propagation_figures

    g = mode.figure_grid
    cert = next((r.certificate for r in (claims.results if claims else ())
                 if r.claim.name == "appendix.contraction_wide_tau" and r.certificate), None)
    arrays = mc.trajectories if mc is not None and mc.ok else None
    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("flow_field", lambda: flow_figures.flow_field(
            figures / "flow_field.png", grid=max(int(21 * min(g, 1)), 11),
            monte_carlo=mode.flow_monte_carlo and arrays is not None)),
        ("contraction", lambda: map_figures.contraction(
            figures / "contraction.png", grid=int(121 * g), certificate=cert)),
        ("variance_change", lambda: map_figures.variance_change(
            figures / "variance_change.png", grid=int(161 * g))),
        ("fixed_points", lambda: map_figures.fixed_points(
            figures / "fixed_points.png", grid=int(41 * g))),
    ]
    propagation = ("correlation_map", "gradients") if mode.name != "quick" else ()
    if propagation:  # (--quick leaves them out: about 50 s together; networks: a few s)
        jobs += [
            ("correlation_map", lambda: propagation_figures.correlation_map_figure(figures / "correlation_map.png")),
            ("gradients", lambda: propagation_figures.gradients(figures / "gradients.png")),
            ("networks", lambda: network_figures.networks(figures / "networks.png")),
        ]
    if mode.name == "full":
        jobs.append(("training", lambda: _training_figure(figures / "training.png")))
    if arrays is not None:
        mu0, nu0 = mode.mc_start
        jobs.append(("convergence", lambda: flow_figures.convergence(
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
    from snn_theory.simulate.network import train as train_network

    base = train.TrainConfig(init="normalized")
    variants = [(v, {}) for v in ("selu", "relu-bn")]
    if activation is not None:
        variants.append((train.ACTIVATION_VARIANT, {"activation": activation}))
    runs = [train_network(replace(base, variant=v, depth=d, **extra))
            for d in (8, 16, 32) for v, extra in variants]
    return train_plots.training(path, runs=runs)


def paving_certificate(out: Path) -> Path | None:
    """The paving certificate to re-check: ``OUT/proofs/domain.paving.json.gz``, else the
    one committed with the package's repository; None when there is neither."""
    for root in (out, Path(__file__).resolve().parents[3]):
        if (root / PAVING).is_file():
            return root / PAVING
    return None


def stage_domain(out: Path, figures: Path, tell: Tell) -> DomainStage:
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
                   tell: Tell) -> AnalogueStage:
    from snn_theory.certify import activation_claims, activation_table
    from snn_theory.certify.search.model_bounders import GaussianBounder

    tell.start("solving c, d and deciding the Theorem 1 analogue",
               len(activation_claims.theorem1_analogue()))
    count = [0]

    def progress(text: str) -> None:
        tell.advance(count[0], len(activation_claims.theorem1_analogue()))
        count[0] += 1
        tell.status(text)

    max_boxes = GaussianBounder.default_max_boxes
    row = activation_table.table((definition,), time_limit=mode.activation_seconds,
                                 max_boxes=max_boxes, jobs=jobs, certificate_dir=proofs,
                                 progress=progress)[0]
    return AnalogueStage(row, mode.activation_seconds, max_boxes)


def stage_activation_check(analogue: AnalogueStage | None, tell: Tell) -> CheckStage:
    from snn_theory.certify.certificate.check import check_certificate

    results = analogue.row.results if analogue is not None else []
    paths = [Path(r.certificate) for r in results if r.certificate]
    # undecided claims have no certificate, and say so in their own stage
    missing = tuple(r.claim.name for r in results
                    if not r.certificate and r.verdict != "undecided")
    tell.start("re-checking the certificates independently", len(paths) or None)
    reports = []
    for k, path in enumerate(paths):
        reports.append(check_certificate(path))
        tell.advance(k + 1, len(paths))
    return CheckStage(tuple(reports), missing, nothing_to_check=not results)


def stage_gains(act: Any, tell: Tell) -> GainsStage:
    from snn_theory.certify.gains import certified_gains
    from snn_theory.precision import working_precision

    tell.start("certifying the gains", 1)
    with working_precision(digits=GAIN_DIGITS + 10):
        result = certified_gains(act)
    tell.advance(1, 1)
    return GainsStage(result, GAIN_DIGITS)


def stage_activation_figures(mode: Mode, definition: str, figures: Path,
                             tell: Tell) -> FiguresStage:
    """What ``snn-theory plot … --activation`` draws, for the member c·f + d of the
    activation that makes (0, 1) the fixed point (without c, d the moment map of tanh, GELU,
    … has only the trivial fixed point ν* = 0): the flow field, contraction, variance change,
    fixed points and Monte Carlo convergence at the mode's grids (seconds), and (``--full``)
    the training figure (minutes)."""
    from snn_theory.certify.activation_table import normalized
    from snn_theory.show import flow_figures, map_figures

    act, _ = normalized(definition)
    g = mode.figure_grid
    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("flow_field", lambda: flow_figures.flow_field(
            figures / "flow_field.png", grid=max(int(21 * min(g, 1)), 11), activation=act)),
        ("contraction", lambda: map_figures.contraction(
            figures / "contraction.png", grid=int(121 * g), activation=act)),
        ("variance_change", lambda: map_figures.variance_change(
            figures / "variance_change.png", grid=int(161 * g), activation=act)),
        ("fixed_points", lambda: map_figures.fixed_points(
            figures / "fixed_points.png", grid=int(41 * g), activation=act)),
        ("convergence", lambda: flow_figures.convergence(figures / "convergence.png", activation=act)),
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
def _timed(name: str, fn: Callable[[Tell], StageResult],
           progress: ProgressFn | None) -> Stage:
    tell = Tell(progress, name)
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
        if mode in PAVING_MODES:  # (--quick leaves it out: about 15 s)
            stages.append(_timed("networks", lambda t: stage_networks(proofs, t, figures),
                                 progress))
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


def _write_report(rep: Any, repro: Reproduction, tell: Tell) -> ReportStage:
    tell.start("writing the report", 1)
    path = rep.write_report(repro)
    tell.advance(1, 1)
    return ReportStage(path)


__all__ = ["folder_name", "paving_certificate", "run", "stage_activation_check",
           "stage_activation_figures", "stage_analogue", "stage_check", "stage_claims",
           "stage_constants", "stage_domain", "stage_figures", "stage_gains", "stage_monte_carlo"]
