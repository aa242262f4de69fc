"""Stacked training: the vmapped program with the constraint as data gives what ``train``
gives for each (seed, constraint); the gradients with respect to the activations against a
hand-written float64 backward pass; the per-layer growth factor on a geometric sequence."""

from __future__ import annotations

from dataclasses import replace

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

from snn_theory.errors import InputError
from snn_theory.simulate.network import build_network, hyper_parameters, train
from snn_theory.simulate.study import (
    activation_gradients,
    layer_factor,
    train_stacked,
)
from snn_theory.simulate.training import TrainConfig, load_split, selu_constants

TINY = TrainConfig(dataset="iris", variant="selu", depth=3, width=8, epochs=2, batch_size=16,
                   learning_rate=1e-2)


def test_stacked_runs_are_the_runs_of_train_for_each_seed_and_constraint() -> None:
    configs = [replace(TINY, seed=0), replace(TINY, seed=1, constraint="theorem1")]
    stacked = train_stacked(configs)
    for config, s in zip(configs[1:], stacked[1:], strict=True):  # one compilation of train
        r = train(config)
        assert s.config == config
        np.testing.assert_allclose(s.train_loss, r.train_loss, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(s.act_var, r.act_var, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(s.test_accuracy, r.test_accuracy, atol=1e-6)
        assert s.inside_fraction.tolist() == r.inside_fraction.tolist()  # exact, both
    assert stacked[1].inside_fraction.min() == 1.0
    assert stacked[0].inside_fraction.max() < 1.0
    assert not np.allclose(stacked[0].train_loss, stacked[1].train_loss)


def test_stacked_configurations_must_agree_but_for_seed_and_constraint() -> None:
    for configs in ([TINY, replace(TINY, depth=4)], [TINY, TINY], [],
                    [replace(TINY, constraint="proofs/domain.paving.json.gz")]):
        with pytest.raises(InputError):
            train_stacked(configs)


def _selu(x: np.ndarray, lam: float, alpha: float) -> np.ndarray:
    return lam * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _selu_slope(x: np.ndarray, lam: float, alpha: float) -> np.ndarray:
    return lam * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def test_activation_gradients_are_the_backward_pass() -> None:
    """Per sample: δ_L = W_outᵀ(softmax − onehot), δ_{l−1} = W_lᵀ(f′(z_l) ⊙ δ_l), by hand."""
    config = replace(TINY, depth=4)
    split = load_split("iris", 0)
    model, state = build_network(config, split)
    model = eqx.tree_at(lambda m: [layer.bias for layer in m.hidden], model,
                        [jnp.full_like(layer.bias, 0.1) for layer in model.hidden])
    c = selu_constants(config.dropout_rate)
    x, y = split.x_val[:20], split.y_val[:20]
    got = np.asarray(activation_gradients(model, state, hyper_parameters(config, c),
                                          jnp.asarray(x), jnp.asarray(y)))
    ws = [np.asarray(layer.weight, np.float64) for layer in model.hidden]
    bs = [np.asarray(layer.bias, np.float64) for layer in model.hidden]
    h, zs = x.astype(np.float64), []
    for w, b in zip(ws, bs, strict=True):
        zs.append(h @ w.T + b)
        h = _selu(zs[-1], c.lam, c.alpha)
    logits = h @ np.asarray(model.out.weight, np.float64).T + np.asarray(model.out.bias)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta = (p - np.eye(p.shape[1])[y]) @ np.asarray(model.out.weight, np.float64)
    expected = [np.mean(np.sum(delta**2, axis=1))]
    for l in range(config.depth - 1, 0, -1):
        delta = (_selu_slope(zs[l], c.lam, c.alpha) * delta) @ ws[l]
        expected.append(np.mean(np.sum(delta**2, axis=1)))
    np.testing.assert_allclose(got, expected[::-1], rtol=2e-4)


def test_layer_factor_is_the_ratio_of_a_geometric_sequence() -> None:
    g = 3.0 * 1.07 ** np.arange(9)[::-1]  # grows by 1.07 per layer towards the input
    assert layer_factor(g) == pytest.approx(1.07, rel=1e-12)
    assert np.isnan(layer_factor(np.array([1.0])))
    assert np.isnan(layer_factor(np.array([1.0, 0.0])))
