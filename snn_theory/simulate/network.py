"""The equinox network, the jitted training epoch and :func:`train`, the epoch loop that fills
:mod:`snn_theory.simulate.training`'s records.

Kept apart from the records so that importing :mod:`snn_theory.simulate.training` (configs, data,
statistics) does not import JAX, equinox and optax.  One MLP: ``depth`` hidden layers
z = W x + b → (``eqx.nn.BatchNorm``) → activation → (alpha or inverted dropout), then a linear
output layer; one epoch is one ``jax.lax.scan`` over the minibatches (``eqx.filter_jit``);
learning rate, activation (``lax.switch``), dropout and SELU constants are traced arguments,
so every variant without batch norm, seed and learning rate of one (depth, width, data set)
shares one compilation.  The activation variant (any :class:`snn_theory.derive.activations.Activation`)
is a static field of the model instead: its own compilation per activation.
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from snn_theory.evaluate import activation_functions
from snn_theory.simulate.config import ProgressCallback
from snn_theory.simulate.training import (
    ACTIVATION_VARIANT,
    BN_MOMENTUM,
    EPOCH_FIELDS,
    RunResult,
    SeluConstants,
    Split,
    TrainConfig,
    g_prediction,
    load_split,
    resolve_activation,
    selu_constants,
    variant_of,
    weight_statistics,
)

#: The activations, in the order of the traced index ``hyper["activation"]``.
ACTIVATIONS: tuple[str, ...] = ("selu", "relu", "tanh", "scaled_tanh")


def _activation(index: Any, x: Any, h: dict[str, Any]) -> Any:
    """Activation number ``index`` of :data:`ACTIVATIONS` (``lax.switch``: one compiled
    program serves every variant without batch norm)."""
    branches = [
        lambda x: h["lam"] * jnp.where(x > 0, x, h["alpha"] * jnp.expm1(jnp.minimum(x, 0.0))),
        jax.nn.relu,
        jnp.tanh,
        lambda x: 1.7159 * jnp.tanh(x * (2.0 / 3.0)),  # LeCun's scaled tanh
    ]
    return jax.lax.switch(index, branches, x)


def init_weight(rng: np.random.Generator, fan_out: int, fan_in: int, gain: float,
                init: str) -> np.ndarray:
    """LeCun/He normal w ~ N(0, gain/fan_in), or (``"normalized"``) rows u ~ N(0, 1) centred
    and scaled so that Σ_j w_ij = 0 and Σ_j w_ij² = gain (float64, then rounded to float32)."""
    u = rng.standard_normal((fan_out, fan_in))
    if init == "lecun" or fan_in == 1:
        return (u * math.sqrt(gain / fan_in)).astype(np.float32)
    centred = u - u.mean(axis=1, keepdims=True)
    w = centred * np.sqrt(gain / np.sum(centred**2, axis=1, keepdims=True))
    return w.astype(np.float32)


class MLP(eqx.Module):
    """``depth`` hidden layers z = W x + b → (batch norm) → activation → (dropout), then a
    linear output layer; called on one example inside ``jax.vmap(axis_name="batch")``."""

    hidden: list
    norms: list | None
    out: eqx.nn.Linear
    #: the activation variant's activation (static: compiled in), else None (``lax.switch``)
    custom: Any = eqx.field(static=True, default=None)

    def __call__(self, x: Any, state: Any, keep_mask: Any, hyper: dict[str, Any],
                 inference: bool, shift: Any = None) -> tuple[Any, Any, Any]:
        """(logits, state, hidden activations stacked to (depth, width)) for one example;
        ``keep_mask`` (depth, width): the dropout mask (ignored in inference mode);
        ``shift`` (depth, width) or None: added to each hidden layer's activations (zeros:
        the gradient with respect to it is the gradient with respect to the activations)."""
        if self.norms is None and len(self.hidden) > 2:
            return self._scanned(x, state, keep_mask, hyper, inference, shift)
        outs = []
        for l, layer in enumerate(self.hidden):
            z = layer(x)
            if self.norms is not None:
                z, state = self.norms[l](z, state, inference=inference)
            x = self._layer_rest(z, l, keep_mask, hyper, inference, shift)
            outs.append(x[0])
            x = x[1]
        return self.out(x), state, jnp.stack(outs)

    def _layer_rest(self, z: Any, l: Any, keep_mask: Any, hyper: dict[str, Any],
                    inference: bool, shift: Any) -> tuple[Any, Any]:
        """(activation, what the next layer gets) of hidden layer ``l`` from its
        pre-activation ``z``: activation, ``shift``, dropout."""
        x = (activation_functions.value_jax(self.custom, z) if self.custom is not None
             else _activation(hyper["activation"], z, hyper))
        if shift is not None:
            x = x + shift[l]
        if inference:
            return x, x
        # alpha dropout: scale 1, dropped units set to α′, then a·x + b (docs/mathematics.md §3);
        # inverted dropout: scale 1/q, dropped units 0, a = 1, b = 0
        return x, hyper["a"] * jnp.where(keep_mask[l], x * hyper["scale"],
                                         hyper["fill"]) + hyper["b"]

    def _scanned(self, x: Any, state: Any, keep_mask: Any, hyper: dict[str, Any],
                 inference: bool, shift: Any) -> tuple[Any, Any, Any]:
        """The same network without batch norm, the hidden layers 2..depth (all
        (width, width)) as one ``lax.scan``: its compilation does not grow with the depth."""
        first, rest = self.hidden[0], self.hidden[1:]
        out0, x = self._layer_rest(first(x), 0, keep_mask, hyper, inference, shift)
        weights = jnp.stack([layer.weight for layer in rest])
        biases = jnp.stack([layer.bias for layer in rest])

        def body(x: Any, layer: tuple[Any, Any, Any]) -> tuple[Any, Any]:
            w, b, l = layer
            out, x = self._layer_rest(w @ x + b, l, keep_mask, hyper, inference, shift)
            return x, out

        x, outs = jax.lax.scan(body, x, (weights, biases, jnp.arange(1, len(self.hidden))))
        return self.out(x), state, jnp.concatenate([out0[None], outs])


def build_network(config: TrainConfig, split: Split,
                  activation: Any = None) -> tuple[MLP, Any]:
    """(model, batch-norm state) with the variant's initial weights and zero biases; the
    weights come from numpy's generator seeded with ``config.seed`` (layer by layer).
    ``activation``: the activation variant's :class:`~snn_theory.derive.activations.Activation`."""
    variant = variant_of(config.variant)
    rng = np.random.default_rng([config.seed, 7])
    sizes = [split.n_features] + [config.width] * config.depth
    key = jax.random.key(0)  # equinox's own initial values are replaced below

    def linear(fan_in: int, fan_out: int, gain: float, init: str) -> eqx.nn.Linear:
        # shapes only (no random numbers drawn, nothing compiled): the values come from numpy
        layer = eqx.filter_eval_shape(eqx.nn.Linear, fan_in, fan_out, key=key)
        w = init_weight(rng, fan_out, fan_in, gain, init)
        return eqx.tree_at(lambda m: (m.weight, m.bias), layer,
                           (jnp.asarray(w), jnp.zeros(fan_out, jnp.float32)))

    hidden = [linear(i, o, variant.gain, config.init) for i, o in zip(sizes[:-1], sizes[1:])]
    out = linear(config.width, split.n_classes, 1.0, "lecun")
    norms = ([eqx.nn.BatchNorm(config.width, axis_name="batch", mode="batch",
                               momentum=BN_MOMENTUM) for _ in range(config.depth)]
             if variant.batch_norm else None)
    return eqx.nn.make_with_state(MLP)(hidden, norms, out, activation)


def _batched(model: MLP, state: Any, x: Any, key: Any, hyper: dict[str, Any],
             inference: bool) -> tuple[Any, Any, Any]:
    shape = (x.shape[0], len(model.hidden), model.hidden[0].weight.shape[0])
    # one draw for the whole batch (a per-example, per-layer draw compiles far slower)
    masks = (jnp.ones(shape, bool) if inference
             else jax.random.bernoulli(key, hyper["keep"], shape))
    return jax.vmap(lambda m, s, xi, mi: m(xi, s, mi, hyper, inference), axis_name="batch",
                    in_axes=(None, None, 0, 0), out_axes=(0, None, 0))(model, state, x, masks)


@functools.lru_cache(maxsize=8)
def optimizer_for(name: str) -> Any:
    make = {"adam": optax.adam, "sgd": optax.sgd,
            "momentum": functools.partial(optax.sgd, momentum=0.9)}[name]
    return optax.inject_hyperparams(make)(learning_rate=1e-3)


def _layer_weights(model: Any) -> list[Any]:
    return [layer.weight for layer in model.hidden] + [model.out.weight]


@eqx.filter_jit
def run_epoch(model: MLP, state: Any, opt_state: Any, key: Any, x: Any, y: Any, batches: Any,
               hyper: dict[str, Any], optimizer: Any) -> tuple[Any, ...]:
    """One epoch as one ``lax.scan`` over the minibatches (rows of ``batches``: indices)."""
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def step(carry: Any, idx: Any) -> tuple[Any, Any]:
        params, state, opt_state, key = carry
        key, sub = jax.random.split(key)

        def loss_fn(p: Any) -> tuple[Any, Any]:
            logits, new_state, _ = _batched(eqx.combine(p, static), state, x[idx], sub, hyper,
                                            False)
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, y[idx]).mean()
            return loss, new_state

        (loss, state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        norms = jnp.stack([jnp.sqrt(jnp.sum(jnp.square(g))) for g in _layer_weights(grads)])
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return (params, state, opt_state, key), (loss, norms)

    (params, state, opt_state, key), (losses, norms) = jax.lax.scan(
        step, (params, state, opt_state, key), batches)
    return eqx.combine(params, static), state, opt_state, losses, norms.mean(axis=0)


def pooled_moments(h: Any) -> tuple[Any, Any, Any]:
    """Per layer l of h (batch, layers, units): the mean μ_l and variance ν_l of h[:, l, :]
    pooled over samples and units, and the within-unit part of ν_l (the mean over units of
    each unit's variance over samples; ν_l − within = the spread of the unit means)."""
    mu = jnp.mean(h, axis=(0, 2))
    nu = jnp.mean(jnp.square(h - mu[None, :, None]), axis=(0, 2))
    within = jnp.mean(jnp.var(h, axis=0), axis=1)
    return mu, nu, within


@eqx.filter_jit
def run_evaluation(model: MLP, state: Any, hyper: dict[str, Any], x: Any, y: Any,
                   sizes: tuple[int, int, int, int]) -> tuple[Any, ...]:
    """One inference-mode pass over ``x`` = train, validation and test rows stacked
    (``sizes`` = their lengths and the held-out count, static): loss and accuracy of each set
    and the per-layer pooled (μ, ν, within-unit ν) on the first ``sizes[3]`` validation rows
    (layer 0: the input).  Batch norm uses its running statistics, so stacking changes
    nothing."""
    key = jax.random.key(0)  # no randomness is used in inference mode
    logits, _, h = _batched(model, state, x, key, hyper, True)  # h: (rows, depth, width)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
    hit = jnp.argmax(logits, axis=1) == y
    n_train, n_val, n_test, n_held = sizes
    losses, accs, start = [], [], 0
    for n in (n_train, n_val, n_test):
        losses.append(jnp.mean(ce[start:start + n]))
        accs.append(jnp.mean(hit[start:start + n]))
        start += n
    first = pooled_moments(x[n_train:n_train + n_held, None, :])
    rest = pooled_moments(h[n_train:n_train + n_held])
    mu, nu, within = (jnp.concatenate([a, b]) for a, b in zip(first, rest))
    return jnp.stack(losses), jnp.stack(accs), mu, nu, within


def hyper_parameters(config: TrainConfig, constants: SeluConstants) -> dict[str, Any]:
    """The traced per-run values: activation index, SELU λ, α, dropout keep probability q,
    and the dropout map x ↦ a·(mask ? x·scale : fill) + b of the variant."""
    variant = variant_of(config.variant)
    q = 1.0 - config.dropout_rate
    if variant.dropout == "alpha":
        scale, fill, a, b = 1.0, constants.alpha_prime, constants.a, constants.b
    else:
        scale, fill, a, b = 1.0 / q, 0.0, 1.0, 0.0
    out = {k: jnp.asarray(v, jnp.float32) for k, v in (
        ("lam", constants.lam), ("alpha", constants.alpha), ("keep", q), ("scale", scale),
        ("fill", fill), ("a", a), ("b", b))}
    index = ACTIVATIONS.index(variant.activation) if variant.activation in ACTIVATIONS else 0
    out["activation"] = jnp.asarray(index, jnp.int32)  # unused by the activation variant
    return out


def weights_dict(model: MLP, state: Any) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for l, layer in enumerate(model.hidden, start=1):
        out[f"hidden{l}.weight"] = np.asarray(layer.weight)
        out[f"hidden{l}.bias"] = np.asarray(layer.bias)
    out["out.weight"] = np.asarray(model.out.weight)
    out["out.bias"] = np.asarray(model.out.bias)
    if model.norms is not None:
        for l, bn in enumerate(model.norms, start=1):
            counter = int(state.get(bn.batch_counter))
            mean, var = (np.asarray(a, np.float64) for a in state.get(bn.batch_state_index))
            scale = 1.0 if counter == 0 else 1.0 - bn.momentum**counter  # equinox's debiasing
            out[f"bn{l}.mean"], out[f"bn{l}.var"] = mean / scale, var / scale
            out[f"bn{l}.gamma"], out[f"bn{l}.beta"] = np.asarray(bn.weight), np.asarray(bn.bias)
            out[f"bn{l}.eps"] = np.asarray(bn.eps)
    return out


_compiling = {"seconds": 0.0, "listening": False}


def compile_clock() -> float:
    """Seconds JAX has spent compiling in this process so far (its own duration events for
    tracing, lowering and backend compilation, :mod:`jax.monitoring`)."""
    if not _compiling["listening"]:
        import jax.monitoring

        def listen(event: str, seconds: float, **_: Any) -> None:
            if event.startswith("/jax/core/compile/"):
                _compiling["seconds"] += seconds

        jax.monitoring.register_event_duration_secs_listener(listen)
        _compiling["listening"] = True
    return float(_compiling["seconds"])


# ============================================================================ training
def train(config: TrainConfig, progress: ProgressCallback | None = None,
          split: Split | None = None) -> RunResult:
    """Train one network; record the statistics of :class:`RunResult` after every epoch.

    ``progress(done, total)`` is called after each epoch (total = ``config.epochs``).
    Deterministic: the same config gives the same numbers.
    """
    from snn_theory.certify.weight_regions import inside_fractions

    config.validate()
    t0 = time.perf_counter()
    compiled0 = compile_clock()
    split = load_split(config.dataset, config.split_seed) if split is None else split
    constants = selu_constants(config.dropout_rate)
    hyper = hyper_parameters(config, constants)
    act, act_record = None, None
    if config.variant == ACTIVATION_VARIANT:
        act, how = resolve_activation(config.activation, config.scale, config.shift)
        act_record = {**act.to_json(), "label": act.label(), "parameters": how,
                      "scale_float": float(act.scale), "shift_float": float(act.shift)}
    model, state = build_network(config, split, act)
    from snn_theory.simulate.constrained import constrain_model, constrained_optimizer

    region, model = constrain_model(model, config.constraint)
    optimizer = constrained_optimizer(optimizer_for(config.optimizer), config.constraint)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    base_state = opt_state if config.constraint == "none" else opt_state[0]
    base_state.hyperparams["learning_rate"] = jnp.asarray(config.learning_rate, jnp.float32)

    n = len(split.y_train)
    batch = min(config.batch_size, n)
    steps = n // batch
    rng = np.random.default_rng([config.seed, 11])
    x_tr, y_tr = jnp.asarray(split.x_train), jnp.asarray(split.y_train)
    heldout = split.x_val[:config.heldout]
    x_all = jnp.asarray(np.concatenate([split.x_train, split.x_val, split.x_test]))
    y_all = jnp.asarray(np.concatenate([split.y_train, split.y_val, split.y_test]))
    sizes = (n, len(split.y_val), len(split.y_test), len(heldout))
    key = jax.random.key(config.seed)
    E, L = config.epochs, config.depth
    rec: dict[str, list[Any]] = {name: [] for name in EPOCH_FIELDS}
    step_loss: list[np.ndarray] = []
    snap_epochs = {0, E // 2, E}
    snapshots: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def record(epoch: int, grad_norm: np.ndarray) -> None:
        losses, accs, mu, nu, within = (np.asarray(a, np.float64)
                                for a in run_evaluation(model, state, hyper, x_all, y_all,
                                                        sizes))
        hidden = [np.asarray(layer.weight) for layer in model.hidden]
        ws = weight_statistics(hidden)
        rec["inside_fraction"].append(np.array(inside_fractions(hidden, region)))
        for name, value in (("train_loss", losses[0]), ("val_loss", losses[1]),
                            ("test_loss", losses[2]), ("val_accuracy", accs[1]),
                            ("test_accuracy", accs[2]), ("act_mean", mu), ("act_var", nu),
                            ("act_var_within", within),
                            ("omega_quantiles", ws.omega_quantiles),
                            ("tau_quantiles", ws.tau_quantiles), ("in_region", ws.in_region),
                            ("grad_norm", grad_norm)):
            rec[name].append(value)
        if epoch in snap_epochs:
            snapshots[epoch] = (ws.omega, ws.tau)

    record(0, np.full(L + 1, np.nan))
    for epoch in range(1, E + 1):
        order = rng.permutation(n)[:steps * batch].reshape(steps, batch)
        key, sub = jax.random.split(key)
        model, state, opt_state, losses, norms = run_epoch(
            model, state, opt_state, sub, x_tr, y_tr, jnp.asarray(order, jnp.int32), hyper,
            optimizer)
        step_loss.append(np.asarray(losses, np.float64))
        record(epoch, np.asarray(norms, np.float64))
        if progress is not None:
            progress(epoch, E)

    arrays = {name: np.stack(v) for name, v in rec.items()}
    # the SELU map's prediction; none for the activation variant (its g is another map)
    predicted = None if act is not None else g_prediction(heldout, config.depth, config.width)
    return RunResult(config, constants, steps, np.concatenate(step_loss), snapshots=snapshots,
                     predicted=predicted, activation=act_record,
                     weights=weights_dict(model, state), heldout=np.asarray(heldout),
                     seconds=time.perf_counter() - t0,
                     compile_seconds=compile_clock() - compiled0, **arrays)
