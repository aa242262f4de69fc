"""Pairs and gradients through normalised layers of any activation at its fixed point: the
empirical correlation map (:func:`simulate_pairs`) and the growth of squared gradient norms
(:func:`simulate_gradients`), against the certified c-map and χ₁.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from snn_theory.errors import InputError, NumericalFailure, TrivialFixedPoint
from snn_theory.evaluate import activation_functions
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
from snn_theory.simulate.engine import (
    engine_acc,
    json_float,
    nanmax_abs,
    random_keys,
    selu_parameters,
)
from snn_theory.simulate.prediction import numerical_fixed_point


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

        lam, alpha = selu_parameters(config)
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
    return _Target(functools.partial(activation_functions.value_jax, act), target, chi1, chi_mean,
                   lambda: point, GENERIC_BITS, act.label())


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
                "layers": [{"layer": i, "correlation": json_float(self.correlation[i]),
                            "spread": json_float(self.spread[i]), "c_map": json_float(self.predicted[i])}
                           for i in range(len(self.correlation))],
                "max_deviation": nanmax_abs(self.correlation - self.predicted),
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
    mesh, _ = mesh_for(config.batch)
    sharding = NamedSharding(mesh, P("batch", None))
    acc = engine_acc(config)
    data_key, _, weight_key = random_keys(config, mesh.devices.flat[0].platform)
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
                "layers": [{"backprop_depth": k, "log_norm_sq": json_float(self.log_norm[k]),
                            "predicted": json_float(self.predicted[k])}
                           for k in range(len(self.log_norm))],
                "max_deviation": nanmax_abs(self.log_norm - self.predicted),
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
    mesh, used = mesh_for(config.batch)
    estimate = memory_estimate(config, used) + (config.depth + 1) * \
        (-(-config.batch // used)) * config.width * (8 if config.dtype == "float64" else 4)
    limit = config.memory_limit
    if limit is None:
        avail = available_memory(mesh.devices.flat[0])
        limit = MEMORY_FRACTION * avail if avail is not None else None
    if limit is not None and estimate > limit:
        raise InputError(f"the gradient simulation needs about {human_bytes(estimate)} per "
                         f"device (every "
                         f"layer's input is kept) but the limit is {human_bytes(limit)}")
    sharding = NamedSharding(mesh, P("batch", None))
    acc = engine_acc(config)
    data_key, dropout_key, weight_key = random_keys(config, mesh.devices.flat[0].platform)
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
