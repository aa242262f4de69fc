"""Tests of ``snn-theory train`` and ``plot training``: trained networks against the theorem.

Small networks (width 128, depth 3, 3 epochs) on digits.  The recorded statistics are checked
against independent computations: ω_i, τ_i and their quantiles recomputed from the saved
weights with exact sums (math.fsum) and a hand-written quantile, membership in the rectangle
decided in exact rationals; (μ, ν) from a float64 numpy forward pass of the saved weights
(SELU with the float constants, batch norm with its running statistics); the initial (μ, ν)
against the iterates of g computed through the mpmath backend.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from snn_theory.certify.claims import THEOREM_DOMAINS
from snn_theory.errors import InputError
from snn_theory.evaluate.moment_map import closed_form_moments as moments
from snn_theory.evaluate.moment_map import default_constants
from snn_theory.simulate.network import train
from snn_theory.simulate.prediction import alpha_dropout_affine
from snn_theory.simulate.training import (
    QUANTILES,
    VARIANTS,
    RunResult,
    TrainConfig,
    certified_region,
    resolve_activation,
    selu_constants,
)

# One shape for every test (depth 3, width 128): the programs compile once (two: with and
# without batch norm); the time is compilation, not training.
TINY = TrainConfig(dataset="digits", depth=3, width=128, epochs=3, batch_size=64,
                   learning_rate=3e-3, dropout_rate=0.05, seed=1)


@pytest.fixture(scope="module")
def runs() -> dict[str, RunResult]:
    return {v: train(replace(TINY, variant=v)) for v in VARIANTS}


def test_short_run_reduces_the_loss_for_every_variant(runs: dict[str, RunResult]) -> None:
    for name, r in runs.items():
        assert not r.diverged, name
        assert r.train_loss[-1] < 0.8 * r.train_loss[0], (name, r.train_loss)
        assert r.val_loss[-1] < r.val_loss[0], (name, r.val_loss)
        assert r.test_accuracy[-1] > 0.3, (name, r.test_accuracy)  # chance: 0.1
        assert r.step_loss.shape == (TINY.epochs * r.steps_per_epoch,)


@pytest.mark.parametrize("variant", ["selu", "relu-bn"])
def test_same_seed_gives_identical_numbers(runs: dict[str, RunResult], variant: str) -> None:
    again = train(replace(TINY, variant=variant))
    first = runs[variant]
    np.testing.assert_array_equal(again.step_loss, first.step_loss)
    for name in ("train_loss", "act_mean", "act_var", "tau_quantiles", "grad_norm"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    for k, w in first.weights.items():
        np.testing.assert_array_equal(again.weights[k], w)
    other = train(replace(TINY, variant=variant, seed=2))
    assert not np.array_equal(other.step_loss, first.step_loss)


def _quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (position q·(n − 1))."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (pos - lo) * (s[hi] - s[lo])


def test_recorded_weight_statistics_match_the_saved_weights(runs: dict[str, RunResult]) -> None:
    domain = dict(zip(("mu", "omega", "nu", "tau"), THEOREM_DOMAINS["theorem1"].bounds))
    (wl, wh), (tl, th) = domain["omega"], domain["tau"]
    for name in ("selu", "tanh"):
        r = runs[name]
        final_omega, final_tau = r.snapshots[TINY.epochs]
        for l in range(TINY.depth):
            w = r.weights[f"hidden{l + 1}.weight"]
            assert w.shape == (TINY.width, 64 if l == 0 else TINY.width)
            omega = [math.fsum(float(v) for v in row) for row in w]
            tau = [math.fsum(float(v) ** 2 for v in row) for row in w]
            np.testing.assert_allclose(final_omega[l], omega, rtol=0, atol=1e-12)
            np.testing.assert_allclose(final_tau[l], tau, rtol=1e-12)
            for k, q in enumerate(QUANTILES):
                assert r.omega_quantiles[-1, k, l] == pytest.approx(_quantile(omega, q),
                                                                     abs=1e-12)
                assert r.tau_quantiles[-1, k, l] == pytest.approx(_quantile(tau, q), rel=1e-12)
            inside = sum(wl <= Fraction(o) <= wh and tl <= Fraction(t) <= th
                         for o, t in zip(omega, tau))
            assert r.in_region[-1, l] == inside / TINY.width
    assert certified_region() == ((-0.1, 0.1), (0.95, 1.1))


def _selu(x: np.ndarray, lam: float, alpha: float) -> np.ndarray:
    return lam * np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0.0)) - 1))


def _forward(r: RunResult) -> list[np.ndarray]:
    """Hidden activations of the saved network on the held-out batch (float64, inference)."""
    w = r.weights
    c = r.constants
    x = np.asarray(r.heldout, np.float64)
    layers = [x]
    for l in range(1, r.config.depth + 1):
        z = x @ w[f"hidden{l}.weight"].astype(np.float64).T + w[f"hidden{l}.bias"]
        if f"bn{l}.mean" in w:
            z = ((z - w[f"bn{l}.mean"]) / np.sqrt(w[f"bn{l}.var"] + w[f"bn{l}.eps"])
                 * w[f"bn{l}.gamma"] + w[f"bn{l}.beta"])
        act = VARIANTS[r.config.variant].activation
        x = {"selu": lambda t: _selu(t, c.lam, c.alpha), "relu": lambda t: np.maximum(t, 0),
             "tanh": np.tanh, "scaled_tanh": lambda t: 1.7159 * np.tanh(2 * t / 3)}[act](z)
        layers.append(x)
    return layers


def test_recorded_moments_match_a_direct_forward_pass(runs: dict[str, RunResult]) -> None:
    for name in ("selu", "relu-bn", "scaled-tanh"):
        r = runs[name]
        layers = _forward(r)
        for l, h in enumerate(layers):
            assert r.act_mean[-1, l] == pytest.approx(h.mean(), abs=2e-5), (name, l)
            assert r.act_var[-1, l] == pytest.approx(h.var(), rel=2e-5), (name, l)
            assert r.act_var_within[-1, l] == pytest.approx(h.var(axis=0).mean(), rel=2e-5)
        logits = layers[-1] @ r.weights["out.weight"].astype(np.float64).T + r.weights["out.bias"]
        assert logits.shape == (len(r.heldout), 10)


def test_selu_constants_are_the_certified_values() -> None:
    lam, alpha = default_constants("numpy")  # closed forms (docs/mathematics.md §3), 80-bit mpmath
    c = selu_constants(0.05)
    assert (c.lam, c.alpha) == (lam, alpha)
    a, b = alpha_dropout_affine(0.05, 0.0, 1.0, lam, alpha)  # float64 formula evaluation
    assert c.a == pytest.approx(a, rel=1e-14) and c.b == pytest.approx(b, rel=1e-13)
    assert c.alpha_prime == pytest.approx(-lam * alpha, rel=1e-15)
    assert (selu_constants(0.0).a, selu_constants(0.0).b) == (1.0, 0.0)


def test_initial_moments_follow_the_iterates_of_g() -> None:
    """Normalised weights (Σw = 0, Σw² = 1 per row) at initialisation: each held-out sample's
    (mean, variance) over the units of a layer follows the iterates of g at ω = 0 (its mean
    is then irrelevant), τ = n/(n − 1) (a uniform row of the centred sphere); pooled over the
    samples they give the recorded (μ_l, ν_l) up to O(1/√width): measured deviations on
    digits ≈ 1.3/√N, 0.66/√N, 0.5/√N (variance) at N = 64, 256, 1024 over 8 layers, and
    below 0.2/√N (mean); 0.4/√N at N = 128 over 4 layers; the tolerance is 1/√N."""
    width, depth = TINY.width, TINY.depth
    r = train(replace(TINY, variant="selu", init="normalized", epochs=1))
    lam, alpha = default_constants("numpy")

    def iterates(lam_factor: float) -> np.ndarray:
        x = np.asarray(r.heldout, np.float64)
        mu, nu = x.mean(axis=1), x.var(axis=1)
        n = x.shape[1]
        out = [(mu.mean(), nu.mean() + mu.var())]
        for _ in range(depth):
            # 40 samples through the mpmath backend (independent of the float64 vectorised
            # prediction the library stores), the rest through numpy
            q = [moments(float(m), 0, float(v) * n / (n - 1), 1, lam * lam_factor, alpha)
                 for m, v in zip(mu[:40], nu[:40])]
            rest = moments(mu[40:], 0.0, nu[40:] * n / (n - 1), 1.0, lam * lam_factor, alpha,
                           backend="numpy")
            mu = np.concatenate([[float(t.mean) for t in q], np.asarray(rest.mean)])
            nu = np.concatenate([[float(t.variance) for t in q], np.asarray(rest.variance)])
            out.append((mu.mean(), nu.mean() + mu.var()))
            n = width
        return np.array(out)

    expected = iterates(1.0)
    tol = 1 / math.sqrt(width)
    np.testing.assert_allclose(r.act_mean[0], expected[:, 0], atol=tol)
    np.testing.assert_allclose(r.act_var[0], expected[:, 1], atol=tol)
    np.testing.assert_allclose(r.predicted, expected, rtol=1e-9, atol=1e-12)
    assert r.in_region[0].tolist() == [1.0] * depth  # every unit starts in the rectangle
    # the comparison can fail: with λ 5 % too large the iterates leave the tolerance
    wrong = iterates(1.05)
    assert abs(wrong[-1, 1] - r.act_var[0, -1]) > tol


# ---------------------------------------------------------------------------- --activation
# The activation variant is its own compiled program (one per activation and shape): keep
# one small shape for its tests.
ACT = replace(TINY, variant="activation", activation="tanh", width=64, epochs=2, heldout=16)


@pytest.fixture(scope="module")
def act_run() -> RunResult:
    return train(ACT)


def test_activation_variant_learns_and_is_deterministic(act_run: RunResult,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    r = act_run
    assert not r.diverged
    assert r.train_loss[-1] < 0.8 * r.train_loss[0], r.train_loss
    assert r.val_loss[-1] < r.val_loss[0] and r.test_accuracy[-1] > 0.3
    assert r.predicted is None and r.name == "act:tanh"
    # no scale/shift given: c·tanh(x) + d with (0, 1) the fixed point at ω = 0, τ = 1
    rec = r.activation
    assert rec["definition"] == "tanh" and rec["shift"] == "0"
    assert rec["scale_float"] == pytest.approx(1.5925374197228314, rel=1e-15)
    again = train(ACT)
    np.testing.assert_array_equal(again.step_loss, r.step_loss)
    for name in ("train_loss", "act_mean", "act_var", "tau_quantiles", "grad_norm"):
        np.testing.assert_array_equal(getattr(again, name), getattr(r, name))
    # the forward pass uses exactly c·tanh (checked against numpy in float64)
    c = rec["scale_float"]
    x = np.asarray(r.heldout, np.float64)
    for l in range(1, ACT.depth + 1):
        x = c * np.tanh(x @ r.weights[f"hidden{l}.weight"].astype(np.float64).T
                        + r.weights[f"hidden{l}.bias"])
        assert r.act_var[-1, l] == pytest.approx(x.var(), rel=2e-5)
    # JSON round trip and the table row
    data = json.loads(json.dumps(r.to_json()))
    assert data["config"]["activation"] == "tanh" and data["activation"] == rec
    back = RunResult.from_json(data)
    assert back.activation == rec and back.name == "act:tanh"
    np.testing.assert_array_equal(back.act_var, r.act_var)
    from snn_theory.cli.train import _print_table

    _print_table([r])
    out = capsys.readouterr().out
    assert "act:tanh" in out and "1.59253741972283142777*tanh" in out
    # given --scale (or --shift): used as is, the other one 1 (or 0)
    act, how = resolve_activation("tanh", "1.7159", None)
    assert (act.scale, act.shift) == (Fraction("1.7159"), 0) and "as given" in how
    act, _ = resolve_activation("tanh", None, "0.5")
    assert (act.scale, act.shift) == (1, Fraction(1, 2))


def test_activation_variant_initial_moments_follow_its_map() -> None:
    """Normalised weights at initialisation: as for SELU, each held-out sample's (mean,
    variance) follows the iterates of the activation's map g at ω = 0, τ = n/(n − 1)
    (:func:`snn_theory.evaluate.activation_map.gaussian_quantities`, arb); pooled they give the recorded
    (μ_l, ν_l) up to O(1/√width): measured deviations at width 64 over 3 layers 0.03
    (mean) and 0.07 (variance); the tolerance is 1/√width = 0.125.  A wrong activation (tanh
    with c = 1, fixed point far from (0, 1)) leaves it."""
    from snn_theory.derive import activations
    from snn_theory.evaluate import activation_map
    from snn_theory.precision import working_precision

    r = train(replace(ACT, init="normalized", epochs=1))
    rec = r.activation

    def iterates(act: activations.Activation) -> np.ndarray:
        x = np.asarray(r.heldout, np.float64)
        mu, nu, n = x.mean(axis=1), x.var(axis=1), x.shape[1]
        out = [(mu.mean(), nu.mean() + mu.var())]
        with working_precision(bits=64):
            for _ in range(ACT.depth):
                q = [activation_map.gaussian_quantities(act, float(m), 0, float(v), Fraction(n, n - 1),
                                                        ("mean", "variance")) for m, v in zip(mu, nu)]
                mu = np.array([float(t["mean"].mid()) for t in q])
                nu = np.array([float(t["variance"].mid()) for t in q])
                out.append((mu.mean(), nu.mean() + mu.var()))
                n = ACT.width
        return np.array(out)

    act = activations.get("tanh").with_affine(Fraction(rec["scale"]), Fraction(rec["shift"]))
    expected = iterates(act)
    tol = 1 / math.sqrt(ACT.width)
    np.testing.assert_allclose(r.act_mean[0], expected[:, 0], atol=tol)
    np.testing.assert_allclose(r.act_var[0], expected[:, 1], atol=tol)
    assert r.in_region[0].tolist() == [1.0] * ACT.depth
    # pooled iterates suffice here: plain tanh's variance collapses (fixed point ν* < 0.4)
    with working_precision(bits=64):
        wrong = activation_map.gaussian_trajectory(activations.get("tanh"), float(expected[0, 0]), 0,
                                                   float(expected[0, 1]), 1, steps=ACT.depth)
    assert abs(float(wrong[-1][1].mid()) - r.act_var[0, -1]) > tol


def test_plot_training_draws_the_activation_variant(runs: dict[str, RunResult],
                                                    act_run: RunResult, tmp_path) -> None:
    from matplotlib.image import imread

    from snn_theory.show import training_figures as train_plots
    from snn_theory.show.canvas import FigureSize

    png = tmp_path / "training.png"
    result = train_plots.training(png, runs=[runs["selu"], act_run],
                                  size=FigureSize(900, 550, 100))
    assert imread(png).shape[:2] == (550, 900)
    assert set(result.data["loss"]) == {"selu depth 3", "act:tanh depth 3"}


@pytest.mark.parametrize("change,fragment", [
    ({"dataset": "mnist"}, "unknown data set 'mnist'; choose one of digits, breast-cancer"),
    ({"variant": "swish"}, "unknown variant 'swish'; choose one of selu, relu-bn"),
    ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'; choose one of adam, sgd, momentum"),
    ({"init": "orthogonal"}, "unknown init 'orthogonal'; choose one of lecun, normalized"),
    ({"variant": "activation"}, "the activation variant needs an activation"),
])
def test_config_messages_name_fields_not_flags(change: dict, fragment: str) -> None:
    with pytest.raises(InputError) as exc:
        TrainConfig(**change).validate()
    assert fragment in str(exc.value) and "--" not in str(exc.value)


def test_training_figure_legends_leave_the_data_and_markers_match(
        runs: dict[str, RunResult], tmp_path, monkeypatch) -> None:
    """The bottom row's legends sit outside their axes (never over the rectangle, the units
    or the curves' peaks), and the scatter legend shows every epoch with one marker size."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from snn_theory.show import training_figures as train_plots

    saved = []
    monkeypatch.setattr(train_plots, "save", lambda fig, *a: saved.append(fig))
    train_plots.training(tmp_path / "t.png", runs=[runs["selu"], runs["relu-bn"]])
    (fig,) = saved
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    bottom = fig.axes[3:6]
    for ax in bottom:
        box, legend = ax.get_window_extent(renderer), ax.get_legend().get_window_extent(renderer)
        assert legend.y1 <= box.y0, ax.get_title()  # below the axes, not over them
    sizes = {float(h.get_sizes()[0]) for h in bottom[0].get_legend().legend_handles
             if hasattr(h, "get_sizes")}
    assert len(sizes) == 1  # epoch 0's marker no bigger than the others'
