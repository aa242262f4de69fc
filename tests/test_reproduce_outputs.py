"""The committed outputs of ``reproduce`` do not depend on the machine
(snn_theory/show/reproduce/): what differs from one machine to another — the last bits of
floating-point sums and elementary functions, the devices — changes neither the report's
numbers nor the figure's bytes.  Small real Monte Carlo runs, perturbed by one ulp."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from snn_theory.show import figures
from snn_theory.show.reproduce import report as rep
from snn_theory.show.reproduce import stages as rp

TINY = dataclasses.replace(rp.MODES["quick"], name="tiny", mc_widths=(16, 32), mc_depth=4,
                           mc_batch=8)


class Silent:
    def start(self, *_):
        pass

    def advance(self, *_):
        pass


@pytest.fixture(scope="module")
def stage() -> rp.MonteCarloStage:
    return rp.stage_monte_carlo(TINY, Silent())


def ulp(a: np.ndarray, k: int = 1) -> np.ndarray:
    """``a`` moved by ``k`` units in the last place, alternately up and down."""
    out = np.array(a, float)
    for _ in range(k):
        up = np.nextafter(out, np.inf)
        out = np.where(np.arange(out.size).reshape(out.shape) % 2 == 0, up,
                       np.nextafter(out, -np.inf))
    return out


def perturbed(stage: rp.MonteCarloStage, k: int) -> rp.MonteCarloStage:
    runs = tuple(dataclasses.replace(r, mean=ulp(r.mean, k), variance=ulp(r.variance, k),
                                     mean_spread=ulp(r.mean_spread, k),
                                     variance_spread=ulp(r.variance_spread, k),
                                     predicted_variance=ulp(r.predicted_variance, k),
                                     devices={"platform": "gpu", "used": 8})
                 for r in stage.runs)
    return dataclasses.replace(stage, runs=runs)


def test_the_report_of_the_monte_carlo_is_the_same_after_a_last_digit_change(stage) -> None:
    committed = rep._without_timings(rep.stage_data(stage))
    assert stage.runs[0].config.dtype == rp.MC_DTYPE == "float64"
    for k in (1, 4):
        assert rep._without_timings(rep.stage_data(perturbed(stage, k))) == committed
    # and the digits kept are those the error law supports: below a tenth of 1/sqrt(N·B)
    for run in committed["runs"]:
        width = run["config"]["width"]
        d = rp.mc_decimals(width, TINY.mc_batch)
        assert 10.0**-d <= 0.1 / math.sqrt(width * TINY.mc_batch) < 10.0 ** (1 - d)
        assert all(row["mean"] == round(row["mean"], d) for row in run["layers"])
        assert "devices" not in run  # where it ran: the timings file only
    # the raw runs do differ: the rounding is what makes the report stable
    assert perturbed(stage, 1).runs[0].to_json()["layers"] != stage.runs[0].to_json()["layers"]


def test_the_convergence_figure_bytes_do_not_depend_on_the_last_digits(stage, tmp_path) -> None:
    def draw(name: str, trajectories: dict[int, np.ndarray]) -> bytes:
        path = tmp_path / f"{name}.png"
        figures.convergence(path, depth=TINY.mc_depth, batch=TINY.mc_batch, mean0=0.5,
                            var0=2.0, empirical=trajectories)
        return path.read_bytes()

    first = draw("a", stage.trajectories)  # (no date and no software version in the file)
    assert draw("c", {w: ulp(t) for w, t in stage.trajectories.items()}) == first
    # the stage draws the values to the decimals kept: a float32-sized change is absorbed too
    kept = {w: np.round(t * (1 + 3e-8), rp.mc_decimals(w, TINY.mc_batch))
            for w, t in stage.trajectories.items()}
    assert draw("d", kept) == first


def test_figure_summaries_keep_ten_significant_digits_and_mc_summaries_two() -> None:
    fig = rp.Figure("x", None, {})
    fig = dataclasses.replace(fig, path=rp.Path("x.png"), summary={
        "max_S": 1.1924024717169854, "mu_value": -5.832562140792197e-16,
        "max_deviation": {"1.0": 0.16209592151437002}, "label": "text", "n": 3,
        "mu_bounds": [-7.629704032288196e-15, 6.463191604129756e-15]})
    data = rep._figure_json(fig)
    assert data == {"path": "x.png", "max_S": 1.192402472, "mu_value": -5.832562141e-16,
                    "max_deviation": {"1.0": 0.16}, "label": "text", "n": 3,
                    # outward float bounds of a certified ball: never rounded to nearest
                    "mu_bounds": [-7.629704032288196e-15, 6.463191604129756e-15]}
