"""Wide networks with any activation against the iterates of its moment map (Monte Carlo).

A network of ``depth`` layers of ``width`` units, x_{l+1} = f(W_l x_l), with *normalized*
weights (each row rescaled so that Σ_j w_ij = ω and Σ_j w_ij² = τ exactly, docs/mathematics.md §6)
drawn afresh per layer; inputs i.i.d. N(mean0, var0).  Per layer the empirical mean and
variance over the batch and the units are compared with the iterates (μ_k, ν_k) of g for
the same activation (:func:`snn_theory.evaluate.activation_map.gaussian_trajectory`, arb midpoints).  Floats,
numpy float64: evidence, not proof; the deviations are O(1/√width) (finite width) plus
sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError, NumericalFailure
from snn_theory.evaluate import activation_functions, activation_map
from snn_theory.precision import working_precision
from snn_theory.simulate.config import check_input_range


@dataclass
class ActivationSimulation:
    activation: Activation
    width: int
    depth: int
    batch: int
    omega: float
    tau: float
    mean: np.ndarray  # empirical, layer 0 = inputs
    variance: np.ndarray
    predicted_mean: np.ndarray
    predicted_variance: np.ndarray

    def max_deviation(self) -> dict[str, float]:
        return {"mean": float(np.max(np.abs(self.mean - self.predicted_mean))),
                "variance": float(np.max(np.abs(self.variance - self.predicted_variance)))}

    def to_json(self) -> dict[str, Any]:
        return {"activation": self.activation.to_json(), "width": self.width,
                "depth": self.depth, "batch": self.batch, "omega": self.omega, "tau": self.tau,
                "evidence": "Monte Carlo, numpy float64 (not a proof)",
                "layers": [{"layer": k, "mean": float(m), "variance": float(v),
                            "predicted_mean": float(pm), "predicted_variance": float(pv)}
                           for k, (m, v, pm, pv) in enumerate(zip(
                               self.mean, self.variance, self.predicted_mean,
                               self.predicted_variance))],
                "max_deviation": self.max_deviation()}


def normalized_weights(rng: np.random.Generator, width: int, omega: float, tau: float
                       ) -> np.ndarray:
    """Rows with Σw = ω and Σw² = τ exactly (up to rounding): a centred Gaussian row scaled
    to Σ(w − ω/n)² = τ − ω²/n, plus ω/n."""
    if tau <= omega * omega / width:
        raise InputError("tau must exceed omega²/width for normalized weights")
    w = rng.standard_normal((width, width))
    w -= w.mean(axis=1, keepdims=True)
    w *= np.sqrt((tau - omega * omega / width) / np.sum(w * w, axis=1, keepdims=True))
    return w + omega / width


#: The fields of a SimulationConfig the numpy Monte Carlo uses; the others must keep their
#: defaults (they describe SELU or JAX networks).
MONTE_CARLO_FIELDS = ("width", "depth", "batch", "mean0", "var0", "omega", "tau", "seed")


def simulate_config(config: Any) -> ActivationSimulation:
    """The numpy Monte Carlo for a :class:`snn_theory.simulate.config.SimulationConfig` of
    another activation than SELU.  Raises :class:`InputError` for a field it cannot honour
    (λ, α, dropout, another input law, weight mode or dtype)."""
    defaults = type(config)(width=1, depth=1, batch=1)
    for name in ("weights", "dropout_rate", "input_law", "dtype", "lam", "alpha", "prng"):
        if getattr(config, name) != getattr(defaults, name):
            raise InputError(f"{name} is not supported by the Monte Carlo of the activation "
                             f"{config.generic_activation.label()} (supported: "
                             f"{', '.join(MONTE_CARLO_FIELDS)})")
    return simulate_activation(config.generic_activation,
                    **{name: getattr(config, name) for name in MONTE_CARLO_FIELDS})


def simulate_activation(act: Activation, width: int = 512, depth: int = 20, batch: int = 256,
                        mean0: float = 0.0, var0: float = 1.0, omega: float = 0.0,
                        tau: float = 1.0, seed: int = 0) -> ActivationSimulation:
    """A numpy Monte Carlo of ``depth`` normalised layers of ``width`` units of ``act`` on
    ``batch`` inputs with mean ``mean0`` and variance ``var0``: the empirical per-layer mean and
    variance beside the iterates of the activation's moment map (evidence, not proof)."""
    for name, value, low in (("width", width, 2), ("depth", depth, 1), ("batch", batch, 1)):
        if int(value) != value or value < low:
            raise InputError(f"{name} must be an integer ≥ {low} (got {value})")
    if width * width > 1 << 26 or width * batch > 1 << 26:
        raise InputError("width/batch too large for the numpy Monte Carlo (use width ≤ 8192)")
    if not var0 > 0 or not tau > 0:
        raise InputError("var0 and tau must be > 0")
    check_input_range(mean0, var0, width, batch)
    rng = np.random.default_rng(seed)
    x = mean0 + np.sqrt(var0) * rng.standard_normal((batch, width))
    means, variances = [float(x.mean())], [float(x.var())]
    for _ in range(depth):
        w = normalized_weights(rng, width, omega, tau)
        x = activation_functions.value_numpy(act, x @ w.T)
        means.append(float(x.mean()))
        variances.append(float(x.var()))
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(variances))):
        raise NumericalFailure("the Monte Carlo moments are not finite (overflow in float64); "
                               "nothing is reported — use smaller inputs")
    with working_precision(bits=64):
        try:
            trajectory = activation_map.gaussian_trajectory(act, str(mean0), str(omega), str(var0),
                                                            str(tau), steps=depth)
        except ArithmeticError as exc:
            raise InputError(f"the iterates of g could not be computed: {exc}") from None
        pm = np.array([float(m.mid()) for m, _ in trajectory])
        pv = np.array([float(v.mid()) for _, v in trajectory])
    return ActivationSimulation(act, width, depth, batch, omega, tau, np.array(means),
                                np.array(variances), pm, pv)
