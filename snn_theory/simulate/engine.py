"""Wide-network Monte Carlo in JAX: do real SELU networks settle at the fixed point? (docs/mathematics.md §6)

A network of ``depth`` layers of ``width`` SELU units, ``x_{l+1} = selu(W_l x_l)`` (optionally
followed by alpha dropout), is run on ``batch`` random inputs, and after every layer the
empirical mean and variance of the activations are compared with the iterates of the moment
map g of docs/mathematics.md §1 (:func:`snn_theory.evaluate.moment_map.closed_form_trajectory`). Nothing here is rigorous: these
are statistics of one random network; they illustrate the theorems, they do not prove anything.

The width sweep, the deviation law it tests and the grid of start points are in
:mod:`snn_theory.simulate.sweeps`; the configuration and its validation in
:mod:`snn_theory.simulate.config`; the devices, memory and mesh in :mod:`snn_theory.simulate.devices`;
the predictions of g it is compared with in :mod:`snn_theory.simulate.prediction`.

Design:

* one ``jax.lax.scan`` over layers; the weights of layer ``l`` are generated inside the scan
  from ``fold_in(key, l)``, so memory is O(N² + B·N) whatever the depth and the results do not
  depend on how the layers are chunked (the progress bar runs the scan chunk by chunk);
* the matmul runs in the chosen dtype (float32, bfloat16 or float64) with float32 (float64)
  accumulation via ``preferred_element_type``;
* the batch is sharded over every visible device with a :class:`jax.sharding.Mesh` and
  :class:`jax.sharding.NamedSharding` (1 CPU, 8 GPUs, a TPU slice, several hosts after
  ``jax.distributed.initialize()``); the weights are replicated (every device generates the
  same matrix from the same key);
* *normalised* weights (the theorem's assumption, docs/mathematics.md §6): raw rows ``u ~ N(0, 1)`` are
  mapped affinely, ``w = ω/N + c·(u − ū)`` with ``c = √((τ − ω²/N) / Σ(u − ū)²)``, so that
  ``Σw = ω`` and ``Σw² = τ`` hold exactly in real arithmetic (this needs ``τ ≥ ω²/N``, by
  Cauchy–Schwarz). The affine map is applied to the matmul *output*:
  ``z = (ω/N)·Σ_i x_i + c·(u·x − ū·Σ_i x_i)``, so only ``u`` (in the matmul dtype) is ever
  materialised, and ``ū``, ``c`` are computed in float32 from the *rounded* ``u`` — the
  weights the network actually uses satisfy the two constraints up to float32 rounding even
  in bfloat16;
* *LeCun* weights ``w = u/√N`` (ω, τ hold only in expectation, ω = 0, τ = 1): the per-unit
  ``Σw`` and ``Σw²`` are recorded and their spread reported;
* alpha dropout (training-mode noise, keep probability q = 1 − rate): dropped units are set
  to α′ = −λα, then ``y ↦ a·y + b`` with a, b from docs/mathematics.md §3 for the target fixed point, so
  that the fixed point's mean and variance are preserved in distribution.

The pair and gradient simulations (:mod:`snn_theory.simulate.pairs`) run
plain normalised layers of any activation (``config.activation``; SELU by default) at the
fixed point: SELU's float64 one, or another activation's certified one.

Predictions: the iterates of g for the same (ω, τ, λ, α) — for LeCun weights the expected
(ω, τ) = (0, 1); with dropout the prediction is the *no-dropout* map (dropout with these a, b
leaves the fixed point's moments unchanged, but away from it the prediction is only
approximate).

``converged_at_layer``: the first layer ``l`` such that for every layer ``l' ≥ l`` the empirical
mean and variance lie within ``|mean − μ*| ≤ tol`` and ``|variance − ν*| ≤ tol`` (default
``tol = 0.05``), where (μ*, ν*) is the fixed point of g for (ω, τ, λ, α) found numerically
(float64 Newton from the end of a long analytic iteration); ``None`` if it never does or no
fixed point was found.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from snn_theory.errors import InputError, NumericalFailure
from snn_theory.evaluate.moment_map import default_constants
from snn_theory.files import json_value
from snn_theory.simulate.activation import ActivationSimulation, simulate_config
from snn_theory.simulate.config import ProgressCallback, SimulationConfig
from snn_theory.simulate.devices import (
    MEMORY_FRACTION,
    available_memory,
    device_summary,
    dtype_scope,
    human_bytes,
    memory_estimate,
    mesh_for,
)
from snn_theory.simulate.prediction import (
    alpha_dropout_affine,
    analytic_trajectory,
    converged_at,
    numerical_fixed_point,
)

#: Success probability of the (skewed, standardised) two-point law used for ``bernoulli`` inputs.
BERNOULLI_P = 0.25


@dataclass
class SimulationResult:
    """Per-layer statistics; index 0 is the input, index l the output of layer l.

    Arrays (length depth + 1): ``mean``, ``variance`` (over all units and samples),
    ``mean_spread``, ``variance_spread`` (standard deviation over units of the per-unit mean
    and variance over samples), ``predicted_mean``, ``predicted_variance`` (iterates of g).
    ``omega_unit``/``tau_unit``: mean and standard deviation over units and layers of the
    per-unit Σw and Σw² (exact for normalised weights up to rounding; a spread for LeCun).
    """

    config: SimulationConfig
    devices: dict[str, Any]
    mean: np.ndarray
    variance: np.ndarray
    mean_spread: np.ndarray
    variance_spread: np.ndarray
    predicted_mean: np.ndarray
    predicted_variance: np.ndarray
    fixed_point: tuple[float, float] | None
    lam: float
    alpha: float
    dropout_ab: tuple[float, float] | None
    omega_unit: tuple[float, float]
    tau_unit: tuple[float, float]
    converged_at_layer: int | None
    seconds: float
    memory_estimate: int

    @property
    def max_deviation(self) -> dict[str, float]:
        """max over layers 0..L of |empirical − predicted| (NaN if the prediction diverged)."""
        return {"mean": nanmax_abs(self.mean - self.predicted_mean),
                "variance": nanmax_abs(self.variance - self.predicted_variance)}

    def to_json(self) -> dict[str, Any]:
        """The issue's JSON object: config, devices, layers, max_deviation,
        converged_at_layer, seconds. ``config`` holds the inputs plus the derived values
        actually used (λ, α, fixed point, dropout a and b, per-unit ω/τ statistics)."""
        config = self.config.to_dict()
        config.update({
            "lam_used": self.lam, "alpha_used": self.alpha,
            "fixed_point": list(self.fixed_point) if self.fixed_point else None,
            "dropout_a": self.dropout_ab[0] if self.dropout_ab else None,
            "dropout_b": self.dropout_ab[1] if self.dropout_ab else None,
            "omega_per_unit": {"mean": self.omega_unit[0], "std": self.omega_unit[1]},
            "tau_per_unit": {"mean": self.tau_unit[0], "std": self.tau_unit[1]},
            "memory_estimate_bytes": self.memory_estimate,
        })
        layers = [
            {"layer": i, "mean": json_float(self.mean[i]), "variance": json_float(self.variance[i]),
             "mean_spread": json_float(self.mean_spread[i]), "variance_spread": json_float(self.variance_spread[i]),
             "predicted_mean": json_float(self.predicted_mean[i]),
             "predicted_variance": json_float(self.predicted_variance[i])}
            for i in range(len(self.mean))
        ]
        return {"config": config, "devices": self.devices, "layers": layers,
                "max_deviation": {k: json_float(v) for k, v in self.max_deviation.items()},
                "converged_at_layer": self.converged_at_layer, "seconds": self.seconds}

    def save_npz(self, path: str) -> None:
        """Write every per-layer array and the JSON summary (key ``summary``) to ``path``."""
        import json

        np.savez(path, mean=self.mean, variance=self.variance, mean_spread=self.mean_spread,
                 variance_spread=self.variance_spread, predicted_mean=self.predicted_mean,
                 predicted_variance=self.predicted_variance,
                 summary=np.array(json.dumps(self.to_json())))


def json_float(x: Any) -> float | None:
    """``x`` as a JSON float (None where it is not finite)."""
    return json_value(float(x))


def nanmax_abs(a: np.ndarray) -> float:
    """max |a| ignoring NaN entries (NaN if all are NaN or any is infinite)."""
    a = np.abs(np.asarray(a, dtype=np.float64))
    return float("nan") if np.all(np.isnan(a)) or np.any(np.isinf(a)) else float(np.nanmax(a))


class _Engine:
    """Compiled pieces for one (shape, dtype, weights, dropout, mesh) combination."""

    def __init__(self, config: SimulationConfig, mesh: Any, lam: float, alpha: float,
                 dropout_ab: tuple[float, float] | None) -> None:
        import jax
        import jax.numpy as jnp
        from jax.sharding import NamedSharding
        from jax.sharding import PartitionSpec as P

        self.config = config
        n = config.width
        f64 = config.dtype == "float64"
        acc = jnp.float64 if f64 else jnp.float32
        mm_dtype = {"float32": jnp.float32, "bfloat16": jnp.bfloat16,
                    "float64": jnp.float64}[config.dtype]
        # float32 means float32: no TF32 shortcut on GPUs
        precision = (jax.lax.Precision.HIGHEST if config.dtype != "bfloat16"
                     else jax.lax.Precision.DEFAULT)
        x_sharding = NamedSharding(mesh, P("batch", None))
        replicated = NamedSharding(mesh, P())
        normalized = config.weights == "normalized"
        omega, tau = float(config.omega), float(config.tau)
        keep = 1.0 - config.dropout_rate
        dropout = config.dropout_rate > 0
        a_d, b_d = dropout_ab if dropout_ab else (1.0, 0.0)
        neg_sat = -lam * alpha
        law = config.input_law
        self.x_sharding = x_sharding

        def stats(y: Any) -> Any:
            # per unit over samples (the batch axis is sharded: XLA inserts the all-reduce)
            m_unit = jnp.mean(y, axis=0)
            v_unit = jnp.mean(jnp.square(y - m_unit), axis=0)
            mean = jnp.mean(m_unit)
            # law of total variance over units and samples
            variance = jnp.mean(v_unit) + jnp.mean(jnp.square(m_unit - mean))
            return jnp.stack([mean, variance, jnp.std(m_unit), jnp.std(v_unit)])

        def make_inputs(key: Any, mean0: Any, var0: Any) -> Any:
            shape = (config.batch, n)
            if law == "gaussian":
                e = jax.random.normal(key, shape, acc)
            elif law == "uniform":
                e = jax.random.uniform(key, shape, acc, -math.sqrt(3.0), math.sqrt(3.0))
            else:
                p = BERNOULLI_P
                bit = jax.random.bernoulli(key, p, shape).astype(acc)
                e = (bit - p) / math.sqrt(p * (1 - p))
            x = (mean0 + jnp.sqrt(var0) * e).astype(mm_dtype)
            x = jax.lax.with_sharding_constraint(x, x_sharding)
            return x, stats(x.astype(acc))

        self.make_inputs = jax.jit(make_inputs, out_shardings=(x_sharding, replicated))

        def layer(x: Any, wkey: Any, dkey: Any, index: Any) -> tuple[Any, Any]:
            # drawn in float32 (float64) and rounded: JAX's bfloat16 normals take only 128
            # distinct values, truncated at ±2.89 (variance 0.994)
            u = jax.random.normal(jax.random.fold_in(wkey, index), (n, n), acc).astype(mm_dtype)
            u = jax.lax.with_sharding_constraint(u, replicated)
            u_acc = u.astype(acc)
            row_sum = jnp.sum(u_acc, axis=1)
            row_sq = jnp.sum(jnp.square(u_acc), axis=1)
            xu = jax.lax.dot_general(x, u, (((1,), (1,)), ((), ())), precision=precision,
                                     preferred_element_type=acc)
            if normalized:
                u_bar = row_sum / n
                centred_sq = jnp.maximum(row_sq - row_sum * u_bar, 0.0)
                c = jnp.sqrt((tau - omega**2 / n) / centred_sq)
                x_sum = jnp.sum(x.astype(acc), axis=1, keepdims=True)
                z = (omega / n) * x_sum + c * (xu - u_bar * x_sum)
                # per-unit Σw and Σw² of the weights actually used
                w_sum = omega + c * (row_sum - n * u_bar)
                w_sq = omega**2 / n + c**2 * centred_sq
            else:
                scale = 1.0 / math.sqrt(n)
                z = scale * xu
                w_sum, w_sq = scale * row_sum, row_sq / n
            y = lam * jnp.where(z > 0, z, alpha * jnp.expm1(jnp.minimum(z, 0.0)))
            if dropout:
                kept = jax.random.bernoulli(jax.random.fold_in(dkey, index), keep, y.shape)
                y = a_d * jnp.where(kept, y, neg_sat) + b_d
            y = jax.lax.with_sharding_constraint(y, x_sharding)
            unit = jnp.stack([jnp.mean(w_sum), jnp.mean(jnp.square(w_sum)),
                              jnp.mean(w_sq), jnp.mean(jnp.square(w_sq))])
            y = y.astype(mm_dtype)  # statistics of exactly what the next layer receives
            return y, jnp.concatenate([stats(y.astype(acc)), unit])

        def run_chunk(x: Any, wkey: Any, dkey: Any, start: Any, length: int) -> tuple[Any, Any]:
            def body(carry: Any, i: Any) -> tuple[Any, Any]:
                return layer(carry, wkey, dkey, start + i)

            return jax.lax.scan(body, x, jnp.arange(length, dtype=jnp.int32))

        self._run_chunk = run_chunk
        self.replicated = replicated
        self._compiled: dict[int, Any] = {}
        self._jax = jax

    def chunk(self, length: int) -> Any:
        if length not in self._compiled:
            fn = self._jax.jit(lambda x, w, d, s: self._run_chunk(x, w, d, s, length),
                               donate_argnums=(0,), out_shardings=(self.x_sharding, self.replicated))
            self._compiled[length] = fn
        return self._compiled[length]


_ENGINES: dict[tuple, _Engine] = {}


def _engine(config: SimulationConfig, mesh: Any, lam: float, alpha: float,
            dropout_ab: tuple[float, float] | None) -> _Engine:
    key = (config.width, config.batch, config.weights, config.omega, config.tau,
           config.dropout_rate, config.input_law, config.dtype, lam, alpha, dropout_ab,
           tuple(d.id for d in mesh.devices.flat))
    if key not in _ENGINES:
        if len(_ENGINES) > 16:
            _ENGINES.clear()
        _ENGINES[key] = _Engine(config, mesh, lam, alpha, dropout_ab)
    return _ENGINES[key]


def random_keys(config: SimulationConfig, platform: str) -> tuple[Any, Any, Any]:
    """The data, dropout and weight keys of a run (``config.prng``: threefry on CPU, rbg elsewhere
    when ``auto``)."""
    import jax

    impl = config.prng
    if impl == "auto":
        impl = "threefry" if platform == "cpu" else "rbg"
    base = jax.random.key(config.seed, impl="threefry2x32")
    data_key, dropout_key, weight_seed = jax.random.split(base, 3)
    if impl == "threefry":
        weight_key = weight_seed
    else:
        seed_bits = int(jax.random.randint(weight_seed, (), 0, 2**31 - 1))
        weight_key = jax.random.key(seed_bits, impl="rbg")
    return data_key, dropout_key, weight_key


def simulate(config: SimulationConfig, progress: ProgressCallback | None = None
             ) -> SimulationResult | ActivationSimulation:
    """Run one network and compare it with the analytic iterates (see the module docstring).

    ``progress(done_layers, depth)`` is called after every chunk of layers.  For another
    activation than SELU (``config.activation``) the numpy Monte Carlo of its moment map runs
    instead and returns its :class:`snn_theory.simulate.activation.ActivationSimulation`.
    Raises :class:`InputError` for invalid configurations, including one whose memory
    estimate exceeds the limit (the message holds the estimate).  A float64 run switches
    JAX's 64-bit mode on for its own duration only (:func:`dtype_scope`).
    """
    config.validate()
    if config.generic_activation is not None:  # another activation: the numpy Monte Carlo
        return simulate_config(config)
    with dtype_scope(config.dtype):
        return _simulate(config, progress)


def _simulate(config: SimulationConfig, progress: ProgressCallback | None) -> SimulationResult:
    import jax
    import jax.numpy as jnp

    lam, alpha = selu_parameters(config)

    mesh, used = mesh_for(config.batch)
    device0 = mesh.devices.flat[0]
    estimate = memory_estimate(config, used)
    limit = config.memory_limit
    if limit is None:
        avail = available_memory(device0)
        limit = MEMORY_FRACTION * avail if avail is not None else None
    if limit is not None and estimate > limit:
        raise InputError(
            f"configuration needs about {human_bytes(estimate)} per device "
            f"(width {config.width}, batch {config.batch} over {used} device(s), {config.dtype}) "
            f"but the limit is {human_bytes(limit)}; reduce the width or the batch or add "
            "devices")

    omega_pred, tau_pred = ((config.omega, config.tau) if config.weights == "normalized"
                            else (0.0, 1.0))
    target = numerical_fixed_point(omega_pred, tau_pred, lam, alpha)
    dropout_ab = None
    if config.dropout_rate > 0:
        if target is None:
            raise InputError("alpha dropout needs the fixed point of g, but none was found "
                             "for these omega, tau, lam, alpha")
        dropout_ab = alpha_dropout_affine(config.dropout_rate, target[0], target[1], lam, alpha)
    pred_mean, pred_var = analytic_trajectory(config.mean0, omega_pred, config.var0, tau_pred,
                                              steps=config.depth, lam=lam, alpha=alpha)

    t0 = time.perf_counter()
    engine = _engine(config, mesh, lam, alpha, dropout_ab)
    data_key, dropout_key, weight_key = random_keys(config, device0.platform)
    x, first = engine.make_inputs(data_key, jnp.asarray(config.mean0, engine_acc(config)),
                                  jnp.asarray(config.var0, engine_acc(config)))
    rows = [np.asarray(first, dtype=np.float64)]
    unit_rows = []
    chunk = config.chunk or max(1, -(-config.depth // 20))
    dispatched = 0
    pending: list[tuple[Any, int]] = []

    def collect() -> None:
        out, end = pending.pop(0)
        out = np.asarray(out, dtype=np.float64)  # waits for that chunk only
        rows.extend(out[:, :4])
        unit_rows.append(out[:, 4:])
        if progress is not None:
            progress(end, config.depth)

    while dispatched < config.depth:
        length = min(chunk, config.depth - dispatched)
        # dispatch the next chunk before waiting for the previous one's statistics, so the
        # device never idles while the host reads them
        x, out = engine.chunk(length)(x, weight_key, dropout_key,
                                      jnp.asarray(dispatched, jnp.int32))
        dispatched += length
        pending.append((out, dispatched))
        if len(pending) > 1:
            collect()
    while pending:
        collect()
    jax.block_until_ready(x)
    seconds = time.perf_counter() - t0
    stats = np.array(rows)
    if not np.all(np.isfinite(stats[:, :2])):
        layer = int(np.argmin(np.all(np.isfinite(stats[:, :2]), axis=1)))
        raise NumericalFailure(
            f"the Monte Carlo moments are not finite from layer {layer} on (overflow in "
            f"{config.dtype}); nothing is reported — use smaller inputs or a wider dtype")
    unit = np.concatenate(unit_rows).mean(axis=0)
    omega_unit = (float(unit[0]), float(math.sqrt(max(unit[1] - unit[0] ** 2, 0.0))))
    tau_unit = (float(unit[2]), float(math.sqrt(max(unit[3] - unit[2] ** 2, 0.0))))
    return SimulationResult(
        config=config, devices=device_summary(mesh), mean=stats[:, 0], variance=stats[:, 1],
        mean_spread=stats[:, 2], variance_spread=stats[:, 3], predicted_mean=pred_mean,
        predicted_variance=pred_var, fixed_point=target, lam=lam, alpha=alpha,
        dropout_ab=dropout_ab, omega_unit=omega_unit, tau_unit=tau_unit,
        converged_at_layer=converged_at(stats[:, 0], stats[:, 1], target, config.tolerance),
        seconds=seconds, memory_estimate=estimate)


def network_inputs(config: SimulationConfig) -> np.ndarray:
    """The (batch, width) input matrix :func:`simulate` uses for ``config`` (for checks)."""
    config.validate()
    with dtype_scope(config.dtype):
        return _network_inputs(config)


def _network_inputs(config: SimulationConfig) -> np.ndarray:
    import jax.numpy as jnp

    lam, alpha = selu_parameters(config)
    mesh, _ = mesh_for(config.batch)
    engine = _engine(config, mesh, lam, alpha, None)
    data_key, _, _ = random_keys(config, mesh.devices.flat[0].platform)
    acc = engine_acc(config)
    x, _ = engine.make_inputs(data_key, jnp.asarray(config.mean0, acc),
                              jnp.asarray(config.var0, acc))
    return np.asarray(x.astype(acc))


def network_weights(config: SimulationConfig, layer: int) -> np.ndarray:
    """The explicit (width, width) weight matrix W of layer ``layer`` (0-based; z = W x) that
    :func:`simulate` applies implicitly, materialised in float64 from the same raw draws
    ``u`` (for checks: rows have Σw = ω, Σw² = τ for normalised weights)."""
    config.validate()
    with dtype_scope(config.dtype):
        return _network_weights(config, layer)


def _network_weights(config: SimulationConfig, layer: int) -> np.ndarray:
    import jax
    import jax.numpy as jnp

    mesh, _ = mesh_for(config.batch)
    _, _, weight_key = random_keys(config, mesh.devices.flat[0].platform)
    mm = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float64": jnp.float64}[config.dtype]
    acc = engine_acc(config)
    u = np.asarray(jax.random.normal(jax.random.fold_in(weight_key, layer),
                                     (config.width, config.width), acc).astype(mm).astype(acc),
                   dtype=np.float64)
    n = config.width
    if config.weights == "lecun":
        return u / math.sqrt(n)
    centred = u - u.mean(axis=1, keepdims=True)
    c = np.sqrt((config.tau - config.omega**2 / n) / np.sum(centred**2, axis=1, keepdims=True))
    return config.omega / n + c * centred


def selu_parameters(config: SimulationConfig) -> tuple[float, float]:
    """(λ, α) of a run: the configured ones, else the float64 λ01, α01."""
    lam_default, alpha_default = default_constants("numpy")
    return (float(config.lam) if config.lam is not None else lam_default,
            float(config.alpha) if config.alpha is not None else alpha_default)


def engine_acc(config: SimulationConfig) -> Any:
    import jax.numpy as jnp

    return jnp.float64 if config.dtype == "float64" else jnp.float32


__all__ = ["BERNOULLI_P", "SimulationResult", "engine_acc", "json_float", "nanmax_abs",
           "network_inputs", "network_weights", "random_keys", "selu_parameters", "simulate"]
