"""Sweeps over the wide-network Monte Carlo: widths, and start points (docs/mathematics.md §6).

The deviation law tested (:func:`fit_deviation_law`): the pooled statistics over N units and
B samples deviate from g by about a/√(N·B) (sampling error of N·B values) + b/N (the frozen
finite-width fluctuations of one network), with constants a, b fitted from a sweep over
widths; a sweep is consistent with the law when every width's deviation is within a factor
:data:`LAW_FACTOR` of the fit.  One run cannot test it (two unknown constants).
Monte Carlo evidence, not proof.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from snn_theory.errors import InputError
from snn_theory.files import json_value
from snn_theory.simulate.config import ProgressCallback, SimulationConfig
from snn_theory.simulate.engine import SimulationResult, simulate


@dataclass
class WidthSweep:
    """Deviation from the analytic iterates against width, and the fitted exponent p of
    deviation ≈ C·N^p (least squares on log deviation vs log N).

    ``deviation``: for each width, the root mean square over layers 1..L of
    √(Δmean² + Δvariance²) (less noisy than a maximum); ``max_mean``/``max_variance``: the
    issue's maximum deviations."""

    widths: list[int]
    deviation: list[float]
    max_mean: list[float]
    max_variance: list[float]
    exponent: float
    prefactor: float
    results: list[SimulationResult]
    law: DeviationLaw | None = None

    def to_json(self) -> dict[str, Any]:
        return {"widths": self.widths, "deviation": self.deviation,
                "max_deviation_mean": self.max_mean, "max_deviation_variance": self.max_variance,
                "exponent": self.exponent, "prefactor": self.prefactor,
                "law": None if self.law is None else self.law.to_json(),
                "config": self.results[0].to_json()["config"] if self.results else None,
                "devices": self.results[0].devices if self.results else None,
                "seconds": sum(r.seconds for r in self.results)}


#: A sweep is consistent with the deviation law when measured/fitted lies in
#: [1/LAW_FACTOR, LAW_FACTOR] at every width.
LAW_FACTOR = 2.0
LAW_TEXT = "|empirical − g| ≈ a/√(N·B) + b/N"


@dataclass(frozen=True)
class DeviationLaw:
    """The fit of ``deviation ≈ a/√(N·B) + b/N`` (a, b ≥ 0) over a width sweep at batch B.

    ``ratios``: measured / fitted deviation per width.  ``consistent``: every ratio within
    a factor :data:`LAW_FACTOR`; None when fewer than three widths (two points always fit
    two constants: no test)."""

    widths: list[int]
    batch: int
    deviations: list[float]
    a: float
    b: float
    ratios: list[float]
    consistent: bool | None

    def verdict(self) -> str:
        if self.consistent is None:
            return f"not tested ({len(self.widths)} widths cannot test a 2-constant law; use ≥ 3)"
        worst = max(self.ratios, key=lambda r: max(r, 1 / r) if r > 0 else math.inf)
        return (f"{'consistent' if self.consistent else 'NOT consistent'} with {LAW_TEXT}: "
                f"a = {self.a:.3g}, b = {self.b:.3g}; measured/fitted from {min(self.ratios):.2f} "
                f"to {max(self.ratios):.2f} (worst {worst:.2f}; the test allows a factor "
                f"{LAW_FACTOR:g})")

    def to_json(self) -> dict[str, Any]:
        return {"law": LAW_TEXT, "widths": self.widths, "batch": self.batch,
                "deviations": self.deviations, "a": self.a, "b": self.b, "ratios": self.ratios,
                "factor": LAW_FACTOR, "consistent": self.consistent, "verdict": self.verdict()}


def fit_deviation_law(widths: Sequence[int], batch: int,
                      deviations: Sequence[float]) -> DeviationLaw:
    """Fit a, b ≥ 0 in d(N) ≈ a/√(N·B) + b/N by non-negative least squares on the relative
    residuals (each width weighs the same whatever its deviation)."""
    from scipy.optimize import nnls

    n = np.asarray(widths, float)
    d = np.asarray(deviations, float)
    if len(n) < 2 or not np.all(np.isfinite(d)) or not np.all(d > 0):
        raise InputError("the deviation law needs ≥ 2 widths with finite positive deviations")
    design = np.stack([1 / np.sqrt(n * batch), 1 / n], axis=1) / d[:, None]
    (a, b), _ = nnls(design, np.ones(len(n)))
    fitted = a / np.sqrt(n * batch) + b / n
    ratios = [float(x) for x in d / np.where(fitted > 0, fitted, np.nan)]
    consistent = None if len(n) < 3 else bool(
        all(math.isfinite(r) and 1 / LAW_FACTOR <= r <= LAW_FACTOR for r in ratios))
    return DeviationLaw([int(w) for w in widths], int(batch), [float(x) for x in d], float(a),
                        float(b), ratios, consistent)


def fit_power_law(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(p, C) minimising Σ(log y − log C − p log x)²."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    p, logc = np.polyfit(lx, ly, 1)
    return float(p), float(math.exp(logc))


def width_sweep(config: SimulationConfig, widths: Sequence[int], seeds: int = 1,
                progress: ProgressCallback | None = None) -> WidthSweep:
    """Run ``config`` at each width (``seeds`` networks each, deviations averaged in square)."""
    if len(widths) < 2:
        raise InputError("a width sweep needs at least two widths to fit a scaling exponent")
    devs, mmax, vmax, results = [], [], [], []
    total = len(widths) * seeds
    for i, n in enumerate(widths):
        sq, mm, vv = 0.0, 0.0, 0.0
        for s in range(seeds):
            r = simulate(dataclasses.replace(config, width=int(n), seed=config.seed + s))
            dm = (r.mean - r.predicted_mean)[1:]
            dv = (r.variance - r.predicted_variance)[1:]
            sq += float(np.mean(dm**2 + dv**2))
            md = r.max_deviation
            mm, vv = max(mm, md["mean"]), max(vv, md["variance"])
            results.append(r)
            if progress is not None:
                progress(i * seeds + s + 1, total)
        devs.append(math.sqrt(sq / seeds))
        mmax.append(mm)
        vmax.append(vv)
    if not all(np.isfinite(devs)) or min(devs) <= 0:
        raise InputError("the deviations are not finite and positive; cannot fit an exponent")
    p, c = fit_power_law(widths, devs)
    law = fit_deviation_law(widths, config.batch, devs)
    return WidthSweep(list(map(int, widths)), devs, mmax, vmax, p, c, results, law)


@dataclass
class StartGrid:
    """Empirical flow from a grid of start points (for overlay on the analytic flow field).

    ``starts``: (K, 2) array of start points (μ0, ν0); ``next``: (K, 2) empirical
    (mean, variance) after one layer (the empirical one-layer map); ``predicted_next``: (K, 2)
    g(μ0, ν0); ``trajectories``: (K, depth + 1, 2) empirical (mean, variance) per layer,
    index 0 the measured input statistics; ``predicted``: (K, depth + 1, 2) iterates of g.
    """

    starts: np.ndarray
    next: np.ndarray
    predicted_next: np.ndarray
    trajectories: np.ndarray
    predicted: np.ndarray
    config: SimulationConfig

    def to_json(self) -> dict[str, Any]:
        return json_value({
            "config": self.config.to_dict(), "starts": self.starts, "next": self.next,
            "predicted_next": self.predicted_next, "trajectories": self.trajectories,
            "predicted": self.predicted})

    def save_npz(self, path: str) -> None:
        np.savez(path, starts=self.starts, next=self.next, predicted_next=self.predicted_next,
                 trajectories=self.trajectories, predicted=self.predicted)




def start_grid(config: SimulationConfig, mus: Sequence[float], nus: Sequence[float],
               progress: ProgressCallback | None = None) -> StartGrid:
    """Run ``config`` from every start point (μ0, ν0) of the grid ``mus × nus`` (μ varies
    slowest); each start uses the same seed, hence the same weights (one network, many
    input distributions)."""
    starts = np.array([(m, v) for m in mus for v in nus], dtype=np.float64)
    traj, pred = [], []
    for i, (m, v) in enumerate(starts):
        r = simulate(dataclasses.replace(config, mean0=float(m), var0=float(v)))
        traj.append(np.stack([r.mean, r.variance], axis=1))
        pred.append(np.stack([r.predicted_mean, r.predicted_variance], axis=1))
        if progress is not None:
            progress(i + 1, len(starts))
    trajectories, predicted = np.array(traj), np.array(pred)
    return StartGrid(starts, trajectories[:, 1], predicted[:, 1], trajectories, predicted,
                     config)



__all__ = ["LAW_FACTOR", "LAW_TEXT", "DeviationLaw", "StartGrid", "WidthSweep",
           "fit_deviation_law", "fit_power_law", "start_grid", "width_sweep"]
