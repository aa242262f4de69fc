"""Wide-network Monte Carlo in JAX: do real SELU networks settle at the fixed point? (docs/mathematics.md §6)

A network of ``depth`` layers of ``width`` SELU units, ``x_{l+1} = selu(W_l x_l)`` (optionally
followed by alpha dropout), is run on ``batch`` random inputs, and after every layer the
empirical mean and variance of the activations are compared with the iterates of the moment
map g of docs/mathematics.md §1 (:func:`snn_theory.evaluate.moment_map.iterate`). Nothing here is rigorous: these
are statistics of one random network; they illustrate the theorems, they do not prove anything.

The width sweep, the deviation law it tests and the grid of start points are in
:mod:`snn_theory.simulate.sweeps`; the configuration and its validation in
:mod:`snn_theory.simulate.config`.

Design (see ``issues show 6``):

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

The pair and gradient simulations (:func:`simulate_pairs`, :func:`simulate_gradients`) run
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

import functools
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from snn_theory.errors import InputError, NumericalFailure, TrivialFixedPoint
from snn_theory.evaluate.moment_map import default_constants, iterate
from snn_theory.files import json_value
from snn_theory.simulate.activation import ActivationSimulation, simulate_config
from snn_theory.simulate.config import ProgressCallback, SimulationConfig

#: Success probability of the (skewed, standardised) two-point law used for ``bernoulli`` inputs.
BERNOULLI_P = 0.25

#: Default fraction of the available memory a configuration may use.
MEMORY_FRACTION = 0.8


# ----------------------------------------------------------------------------- results


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
        return {"mean": _nanmax_abs(self.mean - self.predicted_mean),
                "variance": _nanmax_abs(self.variance - self.predicted_variance)}

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
            {"layer": i, "mean": _f(self.mean[i]), "variance": _f(self.variance[i]),
             "mean_spread": _f(self.mean_spread[i]), "variance_spread": _f(self.variance_spread[i]),
             "predicted_mean": _f(self.predicted_mean[i]),
             "predicted_variance": _f(self.predicted_variance[i])}
            for i in range(len(self.mean))
        ]
        return {"config": config, "devices": self.devices, "layers": layers,
                "max_deviation": {k: _f(v) for k, v in self.max_deviation.items()},
                "converged_at_layer": self.converged_at_layer, "seconds": self.seconds}

    def save_npz(self, path: str) -> None:
        """Write every per-layer array and the JSON summary (key ``summary``) to ``path``."""
        import json

        np.savez(path, mean=self.mean, variance=self.variance, mean_spread=self.mean_spread,
                 variance_spread=self.variance_spread, predicted_mean=self.predicted_mean,
                 predicted_variance=self.predicted_variance,
                 summary=np.array(json.dumps(self.to_json())))


def _f(x: Any) -> float | None:
    return json_value(float(x))


def _nanmax_abs(a: np.ndarray) -> float:
    a = np.abs(np.asarray(a, dtype=np.float64))
    return float("nan") if np.all(np.isnan(a)) or np.any(np.isinf(a)) else float(np.nanmax(a))


# ----------------------------------------------------------------------------- mathematics


def alpha_dropout_affine(rate: float, mu: float, nu: float, lam: float,
                         alpha: float) -> tuple[float, float]:
    """(a, b) of alpha dropout for keep probability q = 1 − rate at the fixed point (μ, ν).

    docs/mathematics.md §3 (the formula of :mod:`snn_theory.derive.formulas`, evaluated in float64; the
    certified balls come from ``snn-theory solve-constants --dropout-rate``).
    """
    from snn_theory.evaluate.backends import alpha_dropout_function

    _, a, b = alpha_dropout_function("numpy")(1.0 - rate, mu, nu, lam, alpha)
    return float(a), float(b)


def analytic_trajectory(mu0: float, omega: float, nu0: float, tau: float, *, steps: int,
                        lam: float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Iterates of g in float64 (:func:`snn_theory.evaluate.moment_map.iterate`); NaN once they
    leave the domain (ν ≤ 0 or overflow)."""
    means = np.full(steps + 1, np.nan)
    variances = np.full(steps + 1, np.nan)
    means[0], variances[0] = mu0, nu0
    point = (mu0, nu0)
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            m, v = iterate(point[0], omega, point[1], tau, steps=1, lam=lam, alpha=alpha,
                           backend="numpy")[-1]
            m, v = float(m), float(v)
            if not (math.isfinite(m) and math.isfinite(v) and v > 0):
                break
            means[k], variances[k] = m, v
            point = (m, v)
    return means, variances


@functools.lru_cache(maxsize=64)
def numerical_fixed_point(omega: float, tau: float, lam: float, alpha: float,
                          iterations: int = 500) -> tuple[float, float] | None:
    """The attracting fixed point of g reached from (0, 1), by float64 iteration then Newton
    (:func:`snn_theory.evaluate.moment_map.fixed_point`); ``None`` if none is found. Not certified."""
    from snn_theory.evaluate.moment_map import fixed_point

    means, variances = analytic_trajectory(0.0, omega, 1.0, tau, steps=iterations, lam=lam,
                                           alpha=alpha)
    if not (np.isfinite(means[-1]) and np.isfinite(variances[-1])):
        return None
    with np.errstate(all="ignore"):
        try:
            m, v = fixed_point(omega, tau, lam, alpha, backend="numpy",
                               start=(float(means[-1]), float(variances[-1])))
        except NumericalFailure:
            return None
    m, v = float(m), float(v)
    if not (math.isfinite(m) and math.isfinite(v) and v > 0) or \
            abs(m - means[-1]) + abs(v - variances[-1]) > 1e-3:
        return None
    return m, v


def converged_at(mean: np.ndarray, variance: np.ndarray, target: tuple[float, float] | None,
                 tol: float) -> int | None:
    """First index l with |mean − μ*| ≤ tol and |variance − ν*| ≤ tol at l and every later l."""
    if target is None:
        return None
    inside = (np.abs(mean - target[0]) <= tol) & (np.abs(variance - target[1]) <= tol)
    if not inside[-1]:
        return None
    outside = np.nonzero(~inside)[0]
    return int(outside[-1] + 1) if len(outside) else 0


# ----------------------------------------------------------------------------- devices, memory


def _dtype_size(dtype: str) -> int:
    return {"float32": 4, "bfloat16": 2, "float64": 8}[dtype]


def memory_estimate(config: SimulationConfig, n_devices: int = 1) -> int:
    """Peak bytes per device, estimated: the raw weights u (matmul dtype) plus one float32
    temporary of N² for generating them and their row statistics, and about eight B/d × N
    float32 activation-sized buffers (carry, pre-activation, SELU output, dropout mask and
    random bits, reductions) — a deliberately generous count."""
    n, per_device_batch = config.width, -(-config.batch // n_devices)
    acc = 8 if config.dtype == "float64" else 4
    weights = n * n * (_dtype_size(config.dtype) + acc)
    activations = 8 * per_device_batch * n * acc
    return int(weights + activations + 16 * n * acc)


def available_memory(device: Any) -> int | None:
    """Bytes usable on ``device``: the accelerator's limit from ``memory_stats()``, or the
    host's available physical memory (``os.sysconf``) for CPU devices; ``None`` if unknown."""
    if device.platform != "cpu":
        try:
            stats = device.memory_stats() or {}
            limit = stats.get("bytes_limit") or stats.get("bytes_reservable_limit")
            if limit:
                return int(limit) - int(stats.get("bytes_in_use", 0))
        except Exception:
            return None
        return None
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        page = os.sysconf("SC_PAGE_SIZE")
        total = pages * page
    except (ValueError, OSError, AttributeError):
        return None
    # virtual CPU devices share the host: split it
    import jax

    return total // max(1, len(jax.local_devices(backend="cpu")))


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n} B"


@contextmanager
def dtype_scope(dtype: str) -> Iterator[None]:
    """The JAX setting a run in ``dtype`` needs, for the duration of the block only: 64-bit
    mode (``jax.enable_x64``) for float64, nothing for float32 and bfloat16.  Raises
    :class:`InputError` where float64 is unavailable (TPU, or a device that gives float32)."""
    import jax

    if dtype != "float64":
        yield
        return
    platform = jax.default_backend()
    if platform == "tpu":
        raise InputError("float64 is not supported on TPU devices; use float32 or bfloat16")
    with jax.enable_x64(True):
        import jax.numpy as jnp

        try:
            ok = jnp.zeros(1, dtype=jnp.float64).dtype == jnp.float64
        except Exception:
            ok = False
        if not ok:
            raise InputError(f"float64 is not available on this device ({platform}); "
                             "use float32 or bfloat16")
        yield


def _mesh_for(batch: int) -> tuple[Any, int]:
    """A 1-D mesh over the largest number of devices that divides the batch (several
    processes: the batch must be a multiple of the global device count)."""
    import jax
    from jax.sharding import Mesh

    devices = jax.devices()
    if jax.process_count() > 1 and batch % len(devices):
        raise InputError(f"with {jax.process_count()} processes the batch must be a multiple of "
                         f"the {len(devices)} devices (got {batch})")
    d = max(k for k in range(1, len(devices) + 1) if batch % k == 0)
    return Mesh(np.array(devices[:d]), ("batch",)), d


def device_summary(mesh: Any) -> dict[str, Any]:
    import jax

    devs = list(mesh.devices.flat)
    return {"platform": devs[0].platform, "kind": devs[0].device_kind, "used": len(devs),
            "visible": jax.device_count(), "processes": jax.process_count()}


# ----------------------------------------------------------------------------- the network


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


def _keys(config: SimulationConfig, platform: str) -> tuple[Any, Any, Any]:
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

    lam, alpha = _constants(config)

    mesh, used = _mesh_for(config.batch)
    device0 = mesh.devices.flat[0]
    estimate = memory_estimate(config, used)
    limit = config.memory_limit
    if limit is None:
        avail = available_memory(device0)
        limit = MEMORY_FRACTION * avail if avail is not None else None
    if limit is not None and estimate > limit:
        raise InputError(
            f"configuration needs about {_human_bytes(estimate)} per device "
            f"(width {config.width}, batch {config.batch} over {used} device(s), {config.dtype}) "
            f"but the limit is {_human_bytes(limit)}; reduce the width or the batch or add "
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
    data_key, dropout_key, weight_key = _keys(config, device0.platform)
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

    lam, alpha = _constants(config)
    mesh, _ = _mesh_for(config.batch)
    engine = _engine(config, mesh, lam, alpha, None)
    data_key, _, _ = _keys(config, mesh.devices.flat[0].platform)
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

    mesh, _ = _mesh_for(config.batch)
    _, _, weight_key = _keys(config, mesh.devices.flat[0].platform)
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


def _constants(config: SimulationConfig) -> tuple[float, float]:
    lam_default, alpha_default = default_constants("numpy")
    return (float(config.lam) if config.lam is not None else lam_default,
            float(config.alpha) if config.alpha is not None else alpha_default)


def engine_acc(config: SimulationConfig) -> Any:
    import jax.numpy as jnp

    return jnp.float64 if config.dtype == "float64" else jnp.float32


# ----------------------------------------------------------------------------- pairs, gradients


def _check_propagation_config(config: SimulationConfig, what: str) -> None:
    """The pair and gradient simulations use plain normalised layers in float32/float64."""
    config.validate()
    if config.weights != "normalized":
        raise InputError(f"{what} needs normalized weights (the correlation map and chi1 are "
                         "derived for rows with sum omega and sum of squares tau)")
    if config.dropout_rate:
        raise InputError(f"{what} cannot be combined with alpha dropout")
    if config.dtype == "bfloat16":
        raise InputError(f"{what} needs dtype float32 or float64 (got bfloat16)")


def _selu(lam: float, alpha: float) -> Callable[[Any], Any]:
    """SELU with (λ, α) as a JAX function (the expm1 form the moment engine uses)."""
    import jax.numpy as jnp

    def f(z: Any) -> Any:
        return lam * jnp.where(z > 0, z, alpha * jnp.expm1(jnp.minimum(z, 0.0)))

    return f


def _normalized_layer(config: SimulationConfig, f: Callable[[Any], Any]) -> Callable[..., Any]:
    """``layer(x, wkey, index) -> f(W_index x)`` with the normalised weights of
    :func:`simulate` (the same draws u from ``fold_in(wkey, index)``), differentiable in x;
    ``f`` is the activation as a JAX function."""
    import jax
    import jax.numpy as jnp

    n = config.width
    acc = engine_acc(config)
    omega, tau = float(config.omega), float(config.tau)

    def layer(x: Any, wkey: Any, index: Any) -> Any:
        u = jax.random.normal(jax.random.fold_in(wkey, index), (n, n), acc)
        row_sum = jnp.sum(u, axis=1)
        u_bar = row_sum / n
        centred_sq = jnp.maximum(jnp.sum(jnp.square(u), axis=1) - row_sum * u_bar, 0.0)
        c = jnp.sqrt((tau - omega**2 / n) / centred_sq)
        xu = jax.lax.dot_general(x, u, (((1,), (1,)), ((), ())),
                                 precision=jax.lax.Precision.HIGHEST, preferred_element_type=acc)
        x_sum = jnp.sum(x, axis=1, keepdims=True)
        z = (omega / n) * x_sum + c * (xu - u_bar * x_sum)
        return f(z)

    return layer


@dataclass(frozen=True)
class _Target:
    """What the pair and gradient simulations are compared with: the activation as a JAX
    function, the fixed point (floats; for another activation the midpoints of the certified
    ball), the growth rates χ₁ and ω²E[f′]² (floats), and a factory of the propagation point
    the c-map iterates are evaluated at (arb)."""

    f: Callable[[Any], Any]
    fixed_point: tuple[float, float]
    chi1: float
    chi_mean: float
    point: Callable[[], Any]
    prec: int
    label: str


def _target(config: SimulationConfig, what: str) -> _Target:
    """SELU: the float64 fixed point of g and the closed forms of χ₁ there (as before);
    another activation: the certified fixed point of its moment map
    (:func:`snn_theory.certify.propagation.propagation_point`, Krawczyk in arb at 64 bits) and
    the rigorous Gaussian integrals of χ₁ and ω²E[f′]² over its ball (their midpoints)."""
    from flint import arb

    from snn_theory.certify import propagation

    act = config.generic_activation
    if act is None:
        from snn_theory.evaluate.backends import propagation_function

        lam, alpha = _constants(config)
        target = numerical_fixed_point(config.omega, config.tau, lam, alpha)
        if target is None:
            raise InputError(f"{what}: no fixed point of g found for these omega, tau, lam, "
                             "alpha")
        values = propagation_function("numpy")(target[0], config.omega, target[1], config.tau,
                                               lam, alpha)

        def selu_point() -> Any:
            return propagation.propagation_point(config.omega, config.tau, lam, alpha,
                                                 fixed=(arb(target[0]), arb(target[1])))

        return _Target(_selu(lam, alpha), target, float(values[2]), float(values[3]),
                       selu_point, 53, "selu")
    try:
        return _generic_target(act, float(config.omega), float(config.tau))
    except NumericalFailure as exc:
        raise NumericalFailure(f"{what}: {exc}") from None
    except TrivialFixedPoint as exc:
        raise TrivialFixedPoint(f"{what}: {exc}") from None


@functools.lru_cache(maxsize=32)
def _generic_target(act: Any, omega: float, tau: float) -> _Target:
    """:func:`_target` of another activation (cached: the certified fixed point of one
    (activation, ω, τ) is derived once per process, not once per run; it is a pure function
    of its arguments).  An uncertified fixed point raises :class:`InputError` (not cached)."""
    from snn_theory.certify import propagation
    from snn_theory.precision import working_precision

    with working_precision(bits=GENERIC_BITS):
        try:
            point = propagation.propagation_point(omega, tau, activation=act)
        except TrivialFixedPoint:
            raise  # the mathematics: no fixed point with nu* > 0 (exit 3), not a breakdown
        except ArithmeticError as exc:
            raise NumericalFailure(" ".join(str(exc).split())) from None
        target = (float(point.mu_star.mid()), float(point.nu_star.mid()))
        chi1, chi_mean = float(point.chi1.mid()), float(point.chi_mean.mid())
    if not (target[1] > 0 and math.isfinite(chi1) and math.isfinite(chi_mean)):
        raise NumericalFailure(f"the propagation quantities of {act.label()} are not finite "
                               "at its fixed point")
    return _Target(act.jax, target, chi1, chi_mean, lambda: point, GENERIC_BITS, act.label())


_RUNNERS: dict[tuple, Any] = {}


def _runner_key(config: SimulationConfig, mesh: Any) -> tuple:
    """Everything a compiled pair or gradient runner depends on besides its array arguments."""
    return (config.width, config.batch, config.depth, float(config.omega), float(config.tau),
            config.dtype, config.lam, config.alpha, config.generic_activation,
            tuple(d.id for d in mesh.devices.flat))


def _runner(key: tuple, fn: Callable[..., Any]) -> Any:
    """``jax.jit(fn)``, kept per ``key`` so that runs differing only in their inputs, seed or
    c0 (a figure's Monte Carlo points) compile once."""
    import jax

    if key not in _RUNNERS:
        if len(_RUNNERS) > 16:
            _RUNNERS.clear()
        _RUNNERS[key] = jax.jit(fn)
    return _RUNNERS[key]


#: Working precision (bits) of the certified fixed point and c-map of another activation
#: (at 53 bits the pair integrals of tanh lose every digit; 64 bits keep about 17).
GENERIC_BITS = 64


@dataclass
class PairResult:
    """Pairs of inputs at the fixed point with centred correlation ``c0`` through the network.

    ``correlation`` (depth + 1): mean over pairs of the centred (Pearson) correlation over
    units of the two activations; ``spread``: its standard deviation over pairs;
    ``predicted``: the iterates c₀, c̃(c₀), … of the correlation map (midpoints of arb
    enclosures, evidence), from the measured input correlation; ``activation``: the label of
    the activation of the layers."""

    config: SimulationConfig
    c0: float
    correlation: np.ndarray
    spread: np.ndarray
    predicted: np.ndarray
    fixed_point: tuple[float, float]
    seconds: float
    devices: dict[str, Any]
    activation: str = "selu"

    def to_json(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "c0": self.c0,
                "fixed_point": list(self.fixed_point), "devices": self.devices,
                "evidence": "Monte Carlo (not a proof); c_map: midpoints of arb enclosures",
                "layers": [{"layer": i, "correlation": _f(self.correlation[i]),
                            "spread": _f(self.spread[i]), "c_map": _f(self.predicted[i])}
                           for i in range(len(self.correlation))],
                "max_deviation": _nanmax_abs(self.correlation - self.predicted),
                "seconds": self.seconds}


def simulate_pairs(config: SimulationConfig, c0: float,
                   progress: ProgressCallback | None = None, *,
                   predict: bool = True) -> PairResult:
    """``config.batch`` pairs (x_a, x_b) of inputs at the fixed point (μ*, ν*) of (ω, τ):
    x_a = μ* + √ν*·e, x_b = μ* + √ν*·(c₀e + √(1 − c₀²)e′), e, e′ i.i.d. N(0, 1) per unit,
    through one network; per layer the centred correlation over units, against the c-map.

    ``config.activation``: the layers' activation (default SELU); another one is run at the
    certified fixed point of its moment map (an :class:`InputError` where none with ν* > 0
    is certified, e.g. tanh at ω = 0, τ ≤ 1).  ``predict=False``: skip the c-map iterates
    (``predicted`` is NaN; for callers that draw their own)."""
    _check_propagation_config(config, "the pair simulation")
    if not (isinstance(c0, int | float) and -1 <= c0 <= 1):
        raise InputError(f"the pair simulation: the correlation c0 must lie in [-1, 1] "
                         f"(got {c0!r})")
    with dtype_scope(config.dtype):
        return _simulate_pairs(config, c0, progress, predict)


def _simulate_pairs(config: SimulationConfig, c0: float,
                    progress: ProgressCallback | None, predict: bool = True) -> PairResult:
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    reference = _target(config, "the pair simulation")
    target = reference.fixed_point
    mesh, _ = _mesh_for(config.batch)
    sharding = NamedSharding(mesh, P("batch", None))
    acc = engine_acc(config)
    data_key, _, weight_key = _keys(config, mesh.devices.flat[0].platform)
    ka, kb = jax.random.split(data_key)
    shape = (config.batch, config.width)
    e1, e2 = jax.random.normal(ka, shape, acc), jax.random.normal(kb, shape, acc)
    sd = math.sqrt(target[1])
    xa = jax.device_put(target[0] + sd * e1, sharding)
    xb = jax.device_put(target[0] + sd * (c0 * e1 + math.sqrt(max(1 - c0 * c0, 0.0)) * e2),
                        sharding)
    layer = _normalized_layer(config, reference.f)

    def corr(a: Any, b: Any) -> Any:
        a = a - jnp.mean(a, axis=1, keepdims=True)
        b = b - jnp.mean(b, axis=1, keepdims=True)
        r = jnp.sum(a * b, axis=1) / jnp.sqrt(jnp.sum(a * a, axis=1) * jnp.sum(b * b, axis=1))
        return jnp.stack([jnp.mean(r), jnp.std(r)])

    def run(xa: Any, xb: Any, wkey: Any) -> Any:
        def body(carry: Any, i: Any) -> tuple[Any, Any]:
            a, b = carry
            a, b = layer(a, wkey, i), layer(b, wkey, i)
            return (a, b), corr(a, b)

        _, rows = jax.lax.scan(body, (xa, xb), jnp.arange(config.depth, dtype=jnp.int32))
        return jnp.concatenate([corr(xa, xb)[None], rows])

    compiled = _runner(("pairs", *_runner_key(config, mesh)), run)
    t0 = time.perf_counter()
    stats = np.asarray(compiled(xa, xb, weight_key), dtype=np.float64)
    seconds = time.perf_counter() - t0
    predicted = (_correlation_iterates(config, reference, float(stats[0, 0]), progress)
                 if predict else np.full(config.depth + 1, np.nan))
    return PairResult(config, float(c0), stats[:, 0], stats[:, 1], predicted, target, seconds,
                      device_summary(mesh), reference.label)


def _correlation_iterates(config: SimulationConfig, reference: _Target, c0: float,
                          progress: ProgressCallback | None) -> np.ndarray:
    """c-map iterates (enclosure midpoints): SELU in double-precision arb at the float fixed
    point, another activation at :data:`GENERIC_BITS` over its certified fixed-point ball."""
    from flint import arb

    from snn_theory.certify import propagation
    from snn_theory.precision import working_precision

    with working_precision(bits=reference.prec):
        point = reference.point()
        out = [min(max(c0, -1.0), 1.0)]
        for k in range(config.depth):
            c = out[-1]
            out.append(1.0 if c >= 1 else float(propagation.correlation_map(point, arb(c)).mid()))
            if progress is not None:
                progress(k + 1, config.depth)
        return np.array(out)


@dataclass
class GradientResult:
    """Backpropagation through one sampled network from a random cotangent g ~ N(0, I) at the
    output.  ``log_norm`` (depth + 1): ln of the mean over the batch of ‖∂⟨g, x_L⟩/∂x_l‖²
    minus its value at l = L, indexed by k = L − l (layers backpropagated through);
    ``predicted`` = k·ln ρ with ρ = max(χ₁, ω²E[f′]²) at the float fixed point (another
    activation: the midpoints of their enclosures over its certified fixed-point ball)."""

    config: SimulationConfig
    log_norm: np.ndarray
    predicted: np.ndarray
    chi1: float
    rate: float
    fixed_point: tuple[float, float]
    seconds: float
    devices: dict[str, Any]
    activation: str = "selu"

    def to_json(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "chi1": self.chi1, "rate": self.rate,
                "fixed_point": list(self.fixed_point), "devices": self.devices,
                "evidence": "Monte Carlo (not a proof); chi1 and rate: floats (midpoints)",
                "layers": [{"backprop_depth": k, "log_norm_sq": _f(self.log_norm[k]),
                            "predicted": _f(self.predicted[k])}
                           for k in range(len(self.log_norm))],
                "max_deviation": _nanmax_abs(self.log_norm - self.predicted),
                "seconds": self.seconds}


def simulate_gradients(config: SimulationConfig,
                       progress: ProgressCallback | None = None) -> GradientResult:
    """Forward through ``config.depth`` layers from inputs at the fixed point, keeping each
    layer's input (memory O(N² + L·B·N); the weights are regenerated from their keys, never
    stored), then backward with ``jax.vjp`` layer by layer.  ``config.activation`` as in
    :func:`simulate_pairs`."""
    _check_propagation_config(config, "the gradient simulation")
    with dtype_scope(config.dtype):
        return _simulate_gradients(config, progress)


def _simulate_gradients(config: SimulationConfig,
                        progress: ProgressCallback | None) -> GradientResult:
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    reference = _target(config, "the gradient simulation")
    target = reference.fixed_point
    chi1, chi_mean = reference.chi1, reference.chi_mean
    rate = max(chi1, chi_mean)
    mesh, used = _mesh_for(config.batch)
    estimate = memory_estimate(config, used) + (config.depth + 1) * \
        (-(-config.batch // used)) * config.width * (8 if config.dtype == "float64" else 4)
    limit = config.memory_limit
    if limit is None:
        avail = available_memory(mesh.devices.flat[0])
        limit = MEMORY_FRACTION * avail if avail is not None else None
    if limit is not None and estimate > limit:
        raise InputError(f"the gradient simulation needs about {_human_bytes(estimate)} per "
                         f"device (every "
                         f"layer's input is kept) but the limit is {_human_bytes(limit)}")
    sharding = NamedSharding(mesh, P("batch", None))
    acc = engine_acc(config)
    data_key, dropout_key, weight_key = _keys(config, mesh.devices.flat[0].platform)
    shape = (config.batch, config.width)
    x0 = jax.device_put(target[0] + math.sqrt(target[1]) * jax.random.normal(data_key, shape,
                                                                             acc), sharding)
    g = jax.device_put(jax.random.normal(dropout_key, shape, acc), sharding)
    layer = _normalized_layer(config, reference.f)
    idx = jnp.arange(config.depth, dtype=jnp.int32)

    def run(x0: Any, g: Any, wkey: Any) -> Any:
        def forward(x: Any, i: Any) -> tuple[Any, Any]:
            return layer(x, wkey, i), x  # keep the layer's input

        _, inputs = jax.lax.scan(forward, x0, idx)

        def backward(delta: Any, item: Any) -> tuple[Any, Any]:
            x, i = item
            _, pullback = jax.vjp(lambda y: layer(y, wkey, i), x)
            (d,) = pullback(delta)
            return d, jnp.sum(d * d) / config.batch

        _, norms = jax.lax.scan(backward, g, (inputs, idx), reverse=True)
        return jnp.concatenate([norms, (jnp.sum(g * g) / config.batch)[None]])

    compiled = _runner(("gradients", *_runner_key(config, mesh)), run)
    t0 = time.perf_counter()
    norms = np.asarray(compiled(x0, g, weight_key), dtype=np.float64)  # index l = 0..L (input of layer l)
    seconds = time.perf_counter() - t0
    if progress is not None:
        progress(config.depth, config.depth)
    log_norm = np.log(norms[::-1]) - math.log(norms[-1])  # index k = L − l
    predicted = np.arange(config.depth + 1) * math.log(rate)
    return GradientResult(config, log_norm, predicted, chi1, rate, target, seconds,
                          device_summary(mesh), reference.label)



__all__ = [
    "SimulationResult", "simulate", "alpha_dropout_affine", "analytic_trajectory",
    "numerical_fixed_point", "converged_at", "memory_estimate", "available_memory",
    "device_summary", "network_inputs", "network_weights", "simulate_pairs", "PairResult",
    "simulate_gradients", "GradientResult", "BERNOULLI_P", "MEMORY_FRACTION", "GENERIC_BITS",
]
