"""Typed configuration of the wide-network Monte Carlo and its validation.

:class:`SimulationConfig` holds one simulation's parameters (docs/mathematics.md §6);
:meth:`SimulationConfig.validate` raises :class:`snn_theory.errors.InputError` with a one-line
message naming the offending field by its library name (the command line maps names to its
flags).  :func:`check_choice` is the one "unknown X; choose one of ..." check of the typed
configs (this one and :class:`snn_theory.simulate.training.TrainConfig`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from snn_theory.errors import InputError
from snn_theory.evaluate.model import activation_of

if TYPE_CHECKING:
    from snn_theory.derive.activations import Activation

WEIGHT_MODES = ("normalized", "lecun")
INPUT_LAWS = ("gaussian", "uniform", "bernoulli")
DTYPES = ("float32", "bfloat16", "float64")
PRNG_IMPLS = ("auto", "threefry", "rbg")

#: The largest finite number of each float format (bfloat16 has float32's exponent range).
DTYPE_MAX = {"float32": 3.4028234663852886e38, "bfloat16": 3.3895313892515355e38,
             "float64": 1.7976931348623157e308}

#: Input draws are bounded by |mean0| + INPUT_SIGMAS·sqrt(var0) for the purpose of the range
#: check (a Gaussian draw beyond 40 standard deviations has probability below 1e-340).
INPUT_SIGMAS = 40.0

ProgressCallback = Callable[[int, int], None]


def check_choice(what: str, value: Any, choices: Iterable[str]) -> None:
    """Raise :class:`InputError` ``unknown <what> <value>; choose one of <choices>`` unless
    ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise InputError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


def check_input_range(mean0: float, var0: float, width: int, batch: int,
                      dtype: str = "float64") -> None:
    """Raise :class:`InputError` unless the inputs N(mean0, var0), their squares and their
    sums of squares over a layer stay finite in ``dtype``:
    (|mean0| + 40 sqrt(var0))^2 * width * batch must stay below the format's largest number
    (otherwise the Monte Carlo moments overflow to inf and NaN)."""
    for name, value in (("mean0", mean0), ("var0", var0)):
        if not isinstance(value, int | float | np.floating) or not math.isfinite(value):
            raise InputError(f"{name} must be a finite number (got {value!r})")
    if not var0 > 0:
        raise InputError(f"var0 must be > 0 (got {var0})")
    largest = DTYPE_MAX[dtype]
    reach = abs(mean0) + INPUT_SIGMAS * math.sqrt(var0)
    limit = math.sqrt(largest / (float(width) * float(batch)))
    if not reach <= limit:
        raise InputError(
            f"mean0 = {mean0:g}, var0 = {var0:g} overflow {dtype}: the inputs' sums of "
            f"squares over width x batch would exceed {largest:.4g}; keep |mean0| + "
            f"40 sqrt(var0) <= {limit:.3g}")


@dataclass(frozen=True)
class SimulationConfig:
    """One simulation. ``lam``/``alpha`` ``None`` mean λ01, α01 (docs/mathematics.md §3).

    ``tolerance``: half-width of the neighbourhood of the fixed point used for
    ``converged_at_layer``. ``chunk``: layers per jitted scan call (progress granularity;
    results do not depend on it; ``None``: about 20 chunks). ``prng``: generator of the weights
    (``auto``: threefry on CPU, the faster ``rbg`` on GPU/TPU; inputs and dropout masks always
    use threefry, which gives the same numbers whatever the sharding).
    ``memory_limit``: bytes per device a configuration may use (``None``: 80 % of the device's
    memory, or of the host's available memory on CPU).
    ``activation``: the activation f of the layers x_{l+1} = f(W_l x_l): a name, an expression
    in x, an Activation or a moment model (``None``: SELU with ``lam``, ``alpha``).  For
    another activation than SELU, :func:`snn_theory.simulate.engine.simulate` runs the numpy
    Monte Carlo of :mod:`snn_theory.simulate.activation` (width, depth, batch, mean0, var0,
    omega, tau, seed), and the pair and gradient simulations
    (:mod:`snn_theory.simulate.pairs`) run its JAX networks.
    """

    width: int
    depth: int
    batch: int
    mean0: float = 0.0
    var0: float = 1.0
    weights: str = "normalized"
    omega: float = 0.0
    tau: float = 1.0
    dropout_rate: float = 0.0
    input_law: str = "gaussian"
    dtype: str = "float32"
    seed: int = 0
    lam: float | None = None
    alpha: float | None = None
    tolerance: float = 0.05
    chunk: int | None = None
    prng: str = "auto"
    memory_limit: float | None = field(default=None, compare=False)
    activation: Any = field(default=None, compare=False)

    @property
    def generic_activation(self) -> Activation | None:
        """The activation when it is not SELU (``None`` for SELU, given or by default)."""
        act = activation_of(self.activation)
        return None if act is None or act.is_selu else act

    def validate(self) -> None:
        """Raise :class:`InputError` (one-line message) for any invalid field."""
        for name in ("width", "depth", "batch"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise InputError(f"{name} must be an integer >= 1 (got {value!r})")
        for name in ("mean0", "var0", "omega", "tau", "dropout_rate", "tolerance"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise InputError(f"{name} must be a finite number (got {value!r})")
        if self.var0 <= 0:
            raise InputError(f"var0 must be > 0 (got {self.var0})")
        if self.tau <= 0:
            raise InputError(f"tau must be > 0 (got {self.tau})")
        if not 0 <= self.dropout_rate < 1:
            raise InputError(f"dropout rate must be in [0, 1) (got {self.dropout_rate})")
        if self.tolerance <= 0:
            raise InputError(f"tolerance must be > 0 (got {self.tolerance})")
        check_choice("weights mode", self.weights, WEIGHT_MODES)
        check_choice("input law", self.input_law, INPUT_LAWS)
        check_choice("dtype", self.dtype, DTYPES)
        check_choice("prng", self.prng, PRNG_IMPLS)
        check_input_range(self.mean0, self.var0, self.width, self.batch, self.dtype)
        if self.weights == "normalized" and self.tau < self.omega**2 / self.width:
            raise InputError(
                f"normalized weights need tau >= omega^2/width (Cauchy-Schwarz): "
                f"tau = {self.tau} < {self.omega**2 / self.width:.6g}")
        if self.weights == "lecun" and (self.omega != 0 or self.tau != 1):
            raise InputError("omega and tau apply to normalized weights only "
                             "(lecun weights have omega = 0, tau = 1 in expectation)")
        for name in ("lam", "alpha"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise InputError(f"{name} must be a finite number > 0 (got {value!r})")
        if self.chunk is not None and (not isinstance(self.chunk, int) or self.chunk < 1):
            raise InputError(f"chunk must be an integer >= 1 (got {self.chunk!r})")
        if not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise InputError(f"seed must be a non-negative integer (got {self.seed!r})")
        if self.generic_activation is not None and (self.lam is not None
                                                    or self.alpha is not None):
            raise InputError("lam and alpha are SELU's parameters; they cannot be combined "
                             f"with the activation {self.generic_activation.label()}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values (``activation``: ``"selu"`` or the activation's
        definition, :meth:`snn_theory.derive.activations.Activation.to_json`)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
             if f.name not in ("memory_limit", "activation")}
        act = self.generic_activation
        d["activation"] = "selu" if act is None else act.to_json()
        return d


__all__ = ["DTYPES", "DTYPE_MAX", "check_input_range", "INPUT_LAWS", "PRNG_IMPLS", "WEIGHT_MODES", "ProgressCallback",
           "SimulationConfig", "check_choice"]
