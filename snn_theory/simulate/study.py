"""Several seeds of one training configuration at once: the seeds' networks stacked along a
leading axis and trained by one ``jax.vmap`` of :func:`snn_theory.simulate.network.run_epoch`
(one compilation per data set, depth, width and variant instead of one per run), plus the
backward signal: ‖∂ℓ/∂x_l‖² per hidden layer, to compare with the certified χ₁.

**The backward signal.**  For a network at the fixed point of the moment map, mean-field
theory (Schoenholz et al. 2017) predicts that the squared norm of the gradient of a sample's
loss ℓ with respect to the activations x_l of hidden layer l grows by the factor
χ₁ = τ·E[f′(z)²], z ~ N(μ*ω, ν*τ), per layer from the output towards the input
(:func:`snn_theory.certify.propagation.propagation_point` encloses χ₁ in arb; χ₁ ≈ 1.0716 for
SELU at ω = 0, τ = 1).  :func:`activation_gradients` measures
g_l = mean over samples a of ‖∂ℓ_a/∂x_l‖² (x_l after the activation, before dropout) on a
batch, with dropout off (the dropout map is the identity) and batch norm, where there is one,
on the batch's own statistics (training mode: the signal training sees); ``ℓ_a`` is the
cross-entropy of sample a (the gradient of the batch's mean loss times the batch size, which
is the same thing without batch norm).  :func:`layer_factor` is the geometric mean per-layer
growth (g_1/g_L)^(1/(L − 1)).  All of this is float32 evidence; only χ₁ is certified.

Results are the same for the same config and seeds (on the same machine and JAX version); they
agree with :func:`snn_theory.simulate.network.train` run seed by seed up to float32 rounding
(the vmapped program orders some sums differently), not bit for bit.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from snn_theory.errors import InputError
from snn_theory.simulate.constrained import hidden_layer_biases, hidden_layer_weights
from snn_theory.simulate.network import (
    build_network,
    hyper_parameters,
    optimizer_for,
    run_epoch,
    run_evaluation,
)
from snn_theory.simulate.training import (
    ACTIVATION_VARIANT,
    Split,
    TrainConfig,
    load_split,
    selu_constants,
)


@dataclass(frozen=True)
class SeedRun:
    """One seed's record (arrays indexed by epoch e = 0..epochs; 0: at initialisation).

    ``test_accuracy``, ``train_loss`` (epochs + 1,); ``act_mean``, ``act_var``
    (epochs + 1, depth + 1): pooled (μ_l, ν_l) on the held-out batch (as
    :class:`snn_theory.simulate.training.RunResult`); ``inside_fraction`` (epochs + 1, depth):
    exact, against the constraint's region (Theorem 1's for ``none``/``max-norm``);
    ``grad_sq_start``, ``grad_sq_end`` (depth,): :func:`activation_gradients` before the first
    and after the last step."""

    config: TrainConfig
    test_accuracy: np.ndarray
    train_loss: np.ndarray
    act_mean: np.ndarray
    act_var: np.ndarray
    inside_fraction: np.ndarray
    grad_sq_start: np.ndarray
    grad_sq_end: np.ndarray

    @property
    def diverged(self) -> bool:
        return not bool(np.all(np.isfinite(self.train_loss)))


def _stack(trees: Sequence[Any]) -> Any:
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *trees)


@eqx.filter_jit
def activation_gradients(model: Any, state: Any, hyper: dict[str, Any], x: Any,
                         y: Any) -> Any:
    """(depth,) mean over the rows a of ``x`` of ‖∂ℓ_a/∂x_l‖², x_l hidden layer l's
    activations (dropout off; batch norm on the batch's statistics)."""
    h = {**hyper, **{k: jnp.asarray(v, jnp.float32)
                     for k, v in (("a", 1.0), ("b", 0.0), ("scale", 1.0), ("fill", 0.0))}}
    n, depth = x.shape[0], len(model.hidden)
    width = model.hidden[0].weight.shape[0]
    keep = jnp.ones((depth, width), bool)

    def loss(shift: Any) -> Any:
        logits, _, _ = jax.vmap(lambda xi, si: model(xi, state, keep, h, False, si),
                                axis_name="batch")(x, shift)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    g = jax.grad(loss)(jnp.zeros((n, depth, width), x.dtype)) * n
    return jnp.mean(jnp.sum(jnp.square(g), axis=2), axis=0)


def layer_factor(grad_sq: np.ndarray) -> float:
    """Geometric mean growth of ``grad_sq`` per layer towards the input,
    (g_1/g_L)^(1/(L − 1)); NaN for fewer than two layers or a non-positive end."""
    g = np.asarray(grad_sq, np.float64)
    if g.size < 2 or not (np.isfinite(g[0]) and np.isfinite(g[-1]) and g[0] > 0 and g[-1] > 0):
        return float("nan")
    return float((g[0] / g[-1]) ** (1.0 / (g.size - 1)))


def _epochs_stacked(params: Any, static: Any, states: Any, opt_states: Any, keys: Any,
                    x: Any, y: Any, orders: Any, hyper: dict[str, Any],
                    optimizer: Any) -> tuple[Any, ...]:
    def one(p: Any, s: Any, o: Any, k: Any, b: Any) -> tuple[Any, ...]:
        m, s, o, losses, _ = run_epoch(eqx.combine(p, static), s, o, k, x, y, b, hyper,
                                       optimizer)
        return eqx.filter(m, eqx.is_array), s, o, losses

    return jax.vmap(one)(params, states, opt_states, keys, orders)


def _evaluate_stacked(params: Any, static: Any, states: Any, hyper: dict[str, Any], x: Any,
                      y: Any, sizes: tuple[int, int, int, int], xg: Any,
                      yg: Any) -> tuple[Any, ...]:
    def one(p: Any, s: Any) -> tuple[Any, ...]:
        m = eqx.combine(p, static)
        return (*run_evaluation(m, s, hyper, x, y, sizes),
                activation_gradients(m, s, hyper, xg, yg))

    return jax.vmap(one)(params, states)


_epochs_jit = eqx.filter_jit(_epochs_stacked)
_evaluate_jit = eqx.filter_jit(_evaluate_stacked)


#: The constraints one stacked program switches between (a traced index per network).
SWITCHED: tuple[str, ...] = ("none", "max-norm", "theorem1", "domain-map")


class SwitchState(NamedTuple):
    """Which of :data:`SWITCHED` this network's update applies (an int32 scalar)."""

    which: Any


@functools.lru_cache(maxsize=4)
def switched_optimizer(name: str) -> optax.GradientTransformation:
    """The optimiser ``name`` followed by the constraint of :data:`SWITCHED` that the state's
    index names — the same updates as :func:`snn_theory.simulate.constrained.constrained_optimizer`
    for that constraint (``none``: the optimiser's update unchanged; ``max-norm``: hidden rows
    with Σw² > c scaled back; ``theorem1``/``domain-map``: hidden rows projected onto the
    region, hidden bias updates zeroed), as data rather than program structure, so that
    networks with different constraints share one compiled, vmapped program."""
    from snn_theory.simulate.constrained import max_norm_bound, region_for
    from snn_theory.simulate.constraints import hidden_weight_mask, max_norm_rows, project_weights

    c = max_norm_bound()
    regions = [region_for("theorem1"), region_for("domain-map")]
    branches = [lambda p, u: u, lambda p, u: max_norm_rows(p + u, c) - p,
                *(lambda p, u, r=r: project_weights(p + u, r) - p for r in regions)]

    def init(params: Any) -> SwitchState:
        del params
        return SwitchState(jnp.zeros((), jnp.int32))

    def update(updates: Any, state: SwitchState, params: Any = None) -> tuple[Any, SwitchState]:
        if params is None:
            raise ValueError("a weight constraint needs the parameters (pass params to update)")
        weights = hidden_weight_mask(params, hidden_layer_weights)
        biases = hidden_weight_mask(params, hidden_layer_biases)

        def leaf(u: Any, p: Any, is_weight: bool, is_bias: bool) -> Any:
            if is_weight:
                return jax.lax.switch(state.which, branches, p, u)
            if is_bias:
                return jnp.where(state.which >= 2, jnp.zeros_like(u), u)
            return u

        return jax.tree_util.tree_map(leaf, updates, params, weights, biases), state

    return optax.chain(optimizer_for(name), optax.GradientTransformation(init, update))


def train_stacked(configs: Sequence[TrainConfig], split: Split | None = None) -> list[SeedRun]:
    """Train every config at once, one vmapped program: the configs must be equal but for
    their seed and their constraint (one of :data:`SWITCHED`).  Each network gets its own
    initial weights, minibatch order and dropout masks, as
    :func:`snn_theory.simulate.network.train` draws them for its seed, and its own constraint
    (initial weights projected as ``train`` does).  Every epoch is recorded.  Not for the
    activation variant (its activation is compiled into the model)."""
    from snn_theory.certify.weight_regions import inside_fractions
    from snn_theory.simulate.constrained import constrain_model, region_for

    configs = list(configs)
    if not configs:
        raise InputError("train_stacked: no configuration")
    for c in configs:
        c.validate()
        if c.constraint not in SWITCHED:
            raise InputError(f"train_stacked: constraint {c.constraint!r} is not one of "
                             f"{', '.join(SWITCHED)} (train() takes any)")
    config = replace(configs[0], seed=0, constraint="none")
    if any(replace(c, seed=0, constraint="none") != config for c in configs):
        raise InputError("train_stacked: the configurations differ in more than seed and "
                         "constraint")
    if len({(c.seed, c.constraint) for c in configs}) != len(configs):
        raise InputError("train_stacked: a (seed, constraint) appears twice")
    if config.variant == ACTIVATION_VARIANT:
        raise InputError("train_stacked: the activation variant is trained by train() only")
    split = load_split(config.dataset, config.split_seed) if split is None else split
    hyper = hyper_parameters(config, selu_constants(config.dropout_rate))
    optimizer = switched_optimizer(config.optimizer)
    params, states, opt_states, regions, static = [], [], [], [], None
    for c in configs:
        model, state = build_network(c, split)
        _, model = constrain_model(model, c.constraint)
        regions.append(region_for(c.constraint))
        p, static = eqx.partition(model, eqx.is_array)
        base, _ = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
        base.hyperparams["learning_rate"] = jnp.asarray(c.learning_rate, jnp.float32)
        params.append(p)
        states.append(state)
        opt_states.append((base, SwitchState(jnp.asarray(SWITCHED.index(c.constraint),
                                                         jnp.int32))))
    P, S, O = _stack(params), _stack(states), _stack(opt_states)

    n = len(split.y_train)
    batch = min(config.batch_size, n)
    steps = n // batch
    rngs = [np.random.default_rng([c.seed, 11]) for c in configs]
    keys = [jax.random.key(c.seed) for c in configs]
    x_tr, y_tr = jnp.asarray(split.x_train), jnp.asarray(split.y_train)
    held = min(config.heldout, len(split.y_val))
    x_all = jnp.asarray(np.concatenate([split.x_train, split.x_val, split.x_test]))
    y_all = jnp.asarray(np.concatenate([split.y_train, split.y_val, split.y_test]))
    sizes = (n, len(split.y_val), len(split.y_test), held)
    xg, yg = jnp.asarray(split.x_val[:held]), jnp.asarray(split.y_val[:held])
    rec: dict[str, list[Any]] = {k: [] for k in ("acc", "loss", "mu", "nu", "inside", "grad")}

    def record(P: Any, S: Any) -> None:
        losses, accs, mu, nu, _, g = (np.asarray(a, np.float64) for a in _evaluate_jit(
            P, static, S, hyper, x_all, y_all, sizes, xg, yg))
        hidden = [np.asarray(w) for w in hidden_layer_weights(eqx.combine(P, static))]
        for name, value in (("acc", accs[:, 2]), ("loss", losses[:, 0]), ("mu", mu),
                            ("nu", nu), ("grad", g)):
            rec[name].append(value)
        rec["inside"].append(np.array([inside_fractions([w[k] for w in hidden], r)
                                       for k, r in enumerate(regions)]))

    record(P, S)
    for _ in range(config.epochs):
        orders, subs = [], []
        for k, rng in enumerate(rngs):
            orders.append(rng.permutation(n)[:steps * batch].reshape(steps, batch))
            keys[k], sub = jax.random.split(keys[k])
            subs.append(sub)
        P, S, O, _ = _epochs_jit(P, static, S, O, jnp.stack(subs), x_tr, y_tr,
                                 jnp.asarray(np.stack(orders), jnp.int32), hyper, optimizer)
        record(P, S)

    def per_epoch(name: str, k: int) -> np.ndarray:
        return np.stack([a[k] for a in rec[name]])

    return [SeedRun(c, per_epoch("acc", k), per_epoch("loss", k), per_epoch("mu", k),
                    per_epoch("nu", k), per_epoch("inside", k), rec["grad"][0][k],
                    rec["grad"][-1][k]) for k, c in enumerate(configs)]


def train_seeds(config: TrainConfig, seeds: Sequence[int],
                split: Split | None = None) -> list[SeedRun]:
    """:func:`train_stacked` of ``config`` once per seed in ``seeds``."""
    seeds = [int(s) for s in seeds]
    if not seeds or min(seeds) < 0:
        raise InputError(f"seeds must be integers >= 0 (got {seeds!r})")
    return train_stacked([replace(config, seed=s) for s in seeds], split)


__all__ = ["SWITCHED", "SeedRun", "SwitchState", "activation_gradients", "layer_factor",
           "switched_optimizer", "train_seeds", "train_stacked"]
