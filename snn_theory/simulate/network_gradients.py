"""Gradients through a sampled network: the growth of squared gradient norms per application.

The network of :mod:`snn_theory.simulate.network_run` (the same blocks, weights, masks and
keys) is run ``depth`` times from inputs with i.i.d. N(μ*, ν*) entries, (μ*, ν*) the
certified fixed point of the network's map (its midpoints), keeping each application's
input; then a random
output cotangent g ~ N(0, I) is pulled back application by application with ``jax.vjp``
(the masks of the forward pass: they are drawn from the same keys).  ``log_norm[k]`` is ln of
the mean over the batch of ‖∂⟨g, x_L⟩/∂x_{L−k}‖² minus its value at k = 0, averaged over the
seeds: k applications backpropagated through.  At infinite width, at the fixed point, it is
k·ln ρ with ρ = max(χ, χ_mean) the network's growth per application of the squared norm of
the backpropagated signal (χ: its zero-mean part, χ_mean: its mean part; for one dense block
χ₁ and ω²E[f′]²), both certified by
:func:`snn_theory.certify.propagation.network.propagate_network` (docs/networks.md); the
prediction uses the midpoints of their balls.  Evidence, not proof.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from snn_theory.derive.network import Network, parse_network
from snn_theory.errors import NumericalFailure
from snn_theory.exact import ball_text
from snn_theory.simulate.config import ProgressCallback
from snn_theory.simulate.network_run import (
    NetworkSampler,
    NetworkSimulationConfig,
    check_memory,
    check_network,
    network_constants,
)

#: Working precision (bits) of the certified fixed point and χ the run is compared with.
CHI_BITS = 64


@dataclass(frozen=True)
class NetworkGradients:
    """``log_norm`` (depth + 1; index k = applications backpropagated through) averaged over
    the seeds, ``log_norm_se`` its standard error over the seeds (None for one seed);
    ``rate``: the empirical growth per application, exp(log_norm[L]/L); ``fixed_point``: the
    midpoints of the certified fixed point the inputs are drawn at; ``chi``, ``chi_mean``:
    the certified balls of the network's growth factors (zero-mean and mean part)."""

    network: Network
    config: NetworkSimulationConfig
    log_norm: np.ndarray
    log_norm_se: np.ndarray | None
    fixed_point: tuple[float, float]
    chi: Any
    chi_mean: Any
    seconds: float
    device: str

    @property
    def rate(self) -> float:
        return math.exp(float(self.log_norm[-1]) / (len(self.log_norm) - 1))

    @property
    def predicted_rate(self) -> float:
        """max(χ, χ_mean) (midpoints of the certified balls)."""
        return max(float(self.chi.mid()), float(self.chi_mean.mid()))

    @property
    def predicted(self) -> np.ndarray:
        """k·ln max(χ, χ_mean)."""
        return np.arange(len(self.log_norm)) * math.log(self.predicted_rate)

    def to_json(self) -> dict[str, Any]:
        pred = self.predicted
        return {"network": self.network.spelling(), "config": self.config.to_dict(),
                "evidence": "Monte Carlo (not a proof); chi, chi_mean: certified outward "
                            "intervals; predicted: k ln max(chi, chi_mean) at their midpoints",
                "fixed_point": list(self.fixed_point), "rate": self.rate,
                "chi": ball_text(self.chi, 17), "chi_mean": ball_text(self.chi_mean, 17),
                "predicted_rate": self.predicted_rate,
                "steps": [{"backprop_applications": k, "log_norm_sq": float(v),
                           "log_norm_sq_se": (None if self.log_norm_se is None
                                              else float(self.log_norm_se[k])),
                           "predicted": float(pred[k])}
                          for k, v in enumerate(self.log_norm)],
                "max_deviation": float(np.max(np.abs(self.log_norm - pred))),
                "device": self.device, "seconds": self.seconds}


def simulate_network_gradients(network: Network | str, config: NetworkSimulationConfig,
                               progress: ProgressCallback | None = None) -> NetworkGradients:
    """The gradient growth of ``network`` sampled at finite width (module docstring).
    ``config.mean0``/``var0`` are not used (the inputs are drawn at the certified fixed
    point).  Raises :class:`InputError` for bad input, :class:`ArithmeticError` when the
    fixed point or χ is not certified (:class:`snn_theory.errors.TrivialFixedPoint` when the
    variance collapses), :class:`NumericalFailure` when a norm is not finite."""
    from snn_theory.certify.propagation.network import propagate_network
    from snn_theory.simulate.devices import dtype_scope

    network = parse_network(network)
    config.validate()
    check_network(network, config)
    exact = config.exact()
    prop = propagate_network(network, omega=exact["omega"], tau=exact["tau"], prec=CHI_BITS)
    target = (float(prop.mu_star.mid()), float(prop.nu_star.mid()))
    constants = network_constants(network)
    with dtype_scope(config.dtype):
        norms, seconds, device = _run(network, config, exact, constants, target, progress)
    logs = np.log(norms[:, ::-1]) - np.log(norms[:, -1:])  # index k = L − l
    if not np.all(np.isfinite(logs)):
        raise NumericalFailure("a gradient norm is zero or not finite; nothing is reported")
    se = (logs.std(axis=0, ddof=1) / math.sqrt(config.seeds)) if config.seeds > 1 else None
    return NetworkGradients(network, config, logs.mean(axis=0), se, target, prop.chi,
                            prop.chi_mean, seconds, device)


def _run(network: Network, config: NetworkSimulationConfig, exact: dict[str, Any],
         constants: Any, target: tuple[float, float], progress: ProgressCallback | None
         ) -> tuple[np.ndarray, float, str]:
    """Squared gradient norms (seeds, depth + 1), index l = the input of application l."""
    import jax
    import jax.numpy as jnp

    from snn_theory.simulate.engine import random_keys

    device = jax.devices()[0]
    check_memory(config, config.depth + 3, device)
    sampler = NetworkSampler(network, config.width, exact["omega"], exact["tau"],
                             config.dtype, constants)
    acc = sampler.acc
    shape = (config.batch, config.width)
    forward = jax.jit(sampler.apply)

    def pull(x: Any, delta: Any, w: Any, d: Any, k: Any) -> tuple[Any, Any]:
        _, pullback = jax.vjp(lambda y: sampler.apply(y, w, d, k), x)
        (out,) = pullback(delta)
        return out, jnp.sum(out * out) / config.batch

    backward = jax.jit(pull)
    total = 2 * config.seeds * config.depth
    done = 0
    out = np.empty((config.seeds, config.depth + 1))
    t0 = time.perf_counter()
    for s in range(config.seeds):
        data_key, dropout_key, weight_key = random_keys(config.key_config(config.seed + s),
                                                        device.platform)
        # the cotangent from the dropout key itself (the masks use keys folded from it), as
        # the single-layer gradient simulation draws it
        g_key = dropout_key
        x = target[0] + math.sqrt(target[1]) * jax.random.normal(data_key, shape, acc)
        inputs = []
        for k in range(config.depth):
            inputs.append(x)
            x = forward(x, weight_key, dropout_key, jnp.asarray(k, jnp.int32))
            done += 1
            if progress is not None:
                progress(done, total)
        delta = jax.random.normal(g_key, shape, acc)
        norms = [float(jnp.sum(delta * delta)) / config.batch]
        for k in reversed(range(config.depth)):
            delta, norm = backward(inputs[k], delta, weight_key, dropout_key,
                                   jnp.asarray(k, jnp.int32))
            norms.append(float(norm))
            done += 1
            if progress is not None:
                progress(done, total)
        out[s] = norms[::-1]  # index l = 0..L
    return out, time.perf_counter() - t0, f"{device.platform} ({device.device_kind})"


__all__ = ["CHI_BITS", "NetworkGradients", "simulate_network_gradients"]
