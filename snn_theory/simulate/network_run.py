"""A whole network sampled in JAX at finite width, against the certified iterates of its map.

The network (:class:`snn_theory.derive.network.Network`, docs/networks.md) is applied
``depth`` times to ``batch`` inputs with i.i.d. N(mean0, var0) entries, ``width`` units wide,
for ``seeds`` independent draws of everything random (seeds ``seed``, ``seed + 1``, …).
Every block is the real operation, not its moments:

* ``dense(f)``: normalised weights (each row Σw = ω, Σw² = τ exactly, drawn afresh for every
  dense block of every application from ``fold_in(weight key, index)``, as
  ``snn-theory simulate`` draws its layers), then f elementwise (SELU: the form
  ``snn-theory simulate`` uses, with the float64 λ01, α01; any other activation: its JAX
  evaluation, :meth:`snn_theory.derive.activations.Activation.jax`);
* ``act(f)``: f elementwise;
* ``alpha_dropout(Q)``: a Bernoulli(1 − Q) mask per entry; dropped entries set to
  α′ = −λ01·α01, then a·y + b with the a, b the certified map uses (the formulas of
  docs/mathematics.md §3 for the fixed point (0, 1), evaluated in arb; their midpoints);
* ``dropout(Q)``: a Bernoulli(1 − Q) mask, kept entries scaled by 1/(1 − Q);
* ``residual(W, …)``: √(1 − W²)·x + W·branch(x), the branch run on the same x;
* ``layer_norm()``: per sample, (x − x̄)/s with x̄, s² the mean and (population) variance
  over the units; no ε, no gain or bias (their initial values).

After every application the pooled mean and variance over units and samples are recorded
(per seed, then averaged over the seeds) and compared with the iterates of the certified
network map (:func:`snn_theory.evaluate.network_map.evaluate_network` in arb, each iterate's
balls fed to the next: the balls contain the exact iterates of the infinite-width map).

**The error law** (that of ``snn-theory simulate``, docs/mathematics.md §6; its tests state
tolerances the same way): the pooled statistics of finite networks deviate from the
infinite-width iterates by sampling error of order 1/√(N·B·S) (N·B values per network, S
networks) plus finite-width effects of order 1/N.  With s = 1/√(N·B·S) + 1/N, an application k
*agrees* when |mean − μₖ| ≤ K·√νₖ·s and |variance − νₖ| ≤ K·νₖ·s, K = :data:`ERROR_MULTIPLE`
(measured ratios are reported, so a reader can apply another K).  With S ≥ 2 the standard
errors over the seeds are reported beside it (a measured, model-free scale of the sampling
part).  Evidence, not proof.

**Where the map is not the network's law.** ``act(f)`` assumes a Gaussian input
(docs/networks.md); after another nonlinearity its map is the Gaussian closure of the
network, and a disagreement there measures the closure, not the Monte Carlo.
:attr:`NetworkSimulation.closure` says whether the network has such a block.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from snn_theory.derive.network import (
    Act,
    AlphaDropout,
    Block,
    Dense,
    Dropout,
    LayerNorm,
    Network,
    Repeat,
    Residual,
    parse_network,
)
from snn_theory.errors import DomainUndecided, InputError, NumericalFailure
from snn_theory.evaluate import activation_functions
from snn_theory.exact import ball_text, format_fraction, parse_exact
from snn_theory.precision import working_precision
from snn_theory.simulate.config import ProgressCallback, SimulationConfig, check_input_range

#: K of the error law: an application agrees when both deviations are at most K·scale·s.
ERROR_MULTIPLE = 5.0
#: Working precision (bits) of the certified iterates.
ITERATE_BITS = 64
#: The float formats of the simulation.
NETWORK_DTYPES = ("float32", "float64")
#: The error law as text.
ERROR_LAW = ("|mean − μₖ| ≤ K·√νₖ·s and |variance − νₖ| ≤ K·νₖ·s, "
             "s = 1/√(N·B·S) + 1/N")


@dataclass(frozen=True)
class NetworkSimulationConfig:
    """One Monte Carlo of a network: ``width`` N, ``depth`` (applications of the whole
    network), ``batch`` B, ``seeds`` S networks (seeds ``seed`` … ``seed + S − 1``), inputs
    N(``mean0``, ``var0``); ``omega``, ``tau``: the weights of every dense block that does not
    name its own (exact numbers: decimal text, int, Fraction; a float is read as the decimal
    it prints as); ``dtype``: float32 or float64; ``prng`` as
    :class:`snn_theory.simulate.config.SimulationConfig`."""

    width: int
    depth: int
    batch: int
    seeds: int = 1
    seed: int = 0
    mean0: Any = "0"
    var0: Any = "1"
    omega: Any = "0"
    tau: Any = "1"
    dtype: str = "float32"
    prng: str = "auto"

    def exact(self) -> dict[str, Fraction]:
        """mean0, var0, omega, tau as exact rationals (:class:`InputError` for bad ones)."""
        out = {}
        for name in ("mean0", "var0", "omega", "tau"):
            value = getattr(self, name)
            if isinstance(value, float | np.floating):
                if not math.isfinite(value):
                    raise InputError(f"{name} must be a finite number (got {value!r})")
                value = repr(float(value))  # the shortest decimal that reads back as value
            out[name] = parse_exact(value, name, positive=name in ("var0", "tau"))
        return out

    def validate(self) -> None:
        """Raise :class:`InputError` (one line) for any invalid field."""
        for name in ("width", "depth", "batch", "seeds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise InputError(f"{name} must be an integer >= 1 (got {value!r})")
        if self.width < 2:
            raise InputError(f"width must be >= 2 (got {self.width})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer) \
                or self.seed < 0:
            raise InputError(f"seed must be a non-negative integer (got {self.seed!r})")
        if self.dtype not in NETWORK_DTYPES:
            raise InputError(f"unknown dtype {self.dtype!r} for a network simulation; "
                             f"choose one of {', '.join(NETWORK_DTYPES)}")
        values = self.exact()
        check_input_range(float(values["mean0"]), float(values["var0"]), self.width,
                          self.batch, self.dtype)
        # the keys' config validates prng
        self.key_config(self.seed).validate()

    def key_config(self, seed: int) -> SimulationConfig:
        """The single-layer configuration whose random keys seed ``seed`` uses (so that a
        network of one dense(selu) block draws what ``snn-theory simulate`` draws)."""
        return SimulationConfig(width=self.width, depth=self.depth, batch=self.batch,
                                seed=int(seed), dtype=self.dtype, prng=self.prng)

    def to_dict(self) -> dict[str, Any]:
        exact = self.exact()
        return {"width": self.width, "depth": self.depth, "batch": self.batch,
                "seeds": self.seeds, "seed": self.seed, "dtype": self.dtype, "prng": self.prng,
                **{k: format_fraction(v) for k, v in exact.items()}}


# ----------------------------------------------------------------------- the sampled network
@dataclass(frozen=True)
class SampledConstants:
    """The floats the sampled blocks use: SELU's λ, α (float64 λ01, α01, as
    ``snn-theory simulate``), and per alpha-dropout rate its (α′, a, b), the midpoints of the
    certified balls the network map uses."""

    lam: float
    alpha: float
    alpha_dropout: dict[Fraction, tuple[float, float, float]]


def _blocks(blocks: tuple[Block, ...]) -> list[Block]:
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, Repeat):
            out.extend(_blocks((b.block,)) * b.count)
        elif isinstance(b, Residual):
            out.append(b)
            out.extend(_blocks(b.branch))
        else:
            out.append(b)
    return out


def network_constants(network: Network) -> SampledConstants:
    """:class:`SampledConstants` of ``network`` (the alpha-dropout a, b in arb at 128 bits)."""
    from snn_theory.evaluate import backends
    from snn_theory.evaluate.moment_map import default_constants

    lam, alpha = default_constants("numpy")
    rates = {b.q for b in _blocks(network.blocks) if isinstance(b, AlphaDropout)}
    table: dict[Fraction, tuple[float, float, float]] = {}
    with working_precision(bits=128):
        from flint import arb, fmpq

        lam_b, alpha_b = backends.constants_function("arb")()
        for q in rates:
            keep = arb(fmpq((1 - q).numerator, (1 - q).denominator))
            values = backends.alpha_dropout_function("arb")(keep, arb(0), arb(1), lam_b,
                                                            alpha_b)
            table[q] = tuple(float(v.mid()) for v in values)  # type: ignore[assignment]
    return SampledConstants(float(lam), float(alpha), table)


def dense_weights(block: Dense, width: int, omega: Fraction, tau: Fraction
                  ) -> tuple[float, float]:
    """(ω, τ) of a dense block as floats (its own, else the network's ``omega``, ``tau``);
    :class:`InputError` unless τ > ω²/width (normalised rows need it: Cauchy–Schwarz)."""
    om = omega if block.omega is None else block.omega
    ta = tau if block.tau is None else block.tau
    if not ta > om * om / width:
        raise InputError(f"{block.spelling()}: normalized weights need tau > omega^2/width "
                         f"({format_fraction(ta)} <= {float(om * om / width):.6g})")
    return float(om), float(ta)


def check_network(network: Network, config: NetworkSimulationConfig) -> None:
    """:class:`InputError` for a dense block whose weights cannot be normalised at
    ``config.width`` (before anything is computed)."""
    exact = config.exact()
    for block in _blocks(network.blocks):
        if isinstance(block, Dense):
            dense_weights(block, config.width, exact["omega"], exact["tau"])


class NetworkSampler:
    """One application of ``network`` as a JAX function of (x, weight key, dropout key,
    application index), traced once: ``apply(x, wkey, dkey, k)``.  Dense block number j
    (in the order of the description, repetitions and branches included) of application k
    draws its raw weights from ``fold_in(wkey, k·D + j)`` (D: the dense blocks per
    application), mask number j from ``fold_in(dkey, k·M + j)``."""

    def __init__(self, network: Network, width: int, omega: Fraction, tau: Fraction,
                 dtype: str, constants: SampledConstants) -> None:
        import jax.numpy as jnp

        self.width = width
        self.acc = jnp.float64 if dtype == "float64" else jnp.float32
        self.omega, self.tau = omega, tau
        self.constants = constants
        self.dense_count = 0
        self.mask_count = 0
        self._run = self._sequence(network.blocks)

    def apply(self, x: Any, wkey: Any, dkey: Any, k: Any) -> Any:
        return self._run(x, (wkey, dkey, k))

    def _sequence(self, blocks: tuple[Block, ...]) -> Callable[[Any, Any], Any]:
        steps = []
        for b in blocks:
            if isinstance(b, Repeat):
                steps.append(self._sequence((b.block,) * b.count))
            else:
                steps.append(self._block(b))

        def run(x: Any, keys: Any) -> Any:
            for step in steps:
                x = step(x, keys)
            return x

        return run

    def _activation(self, act: Any) -> Callable[[Any], Any]:
        import jax.numpy as jnp

        if act.is_selu and (act.scale, act.shift) == (1, 0):
            lam, alpha = self.constants.lam, self.constants.alpha
            return lambda z: lam * jnp.where(z > 0, z, alpha * jnp.expm1(jnp.minimum(z, 0.0)))
        return functools.partial(activation_functions.value_jax, act)

    def _block(self, block: Block) -> Callable[[Any, Any], Any]:
        import jax
        import jax.numpy as jnp

        if isinstance(block, Dense):
            slot = self.dense_count
            self.dense_count += 1
            n = self.width
            omega, tau = dense_weights(block, n, self.omega, self.tau)
            f = self._activation(block.act)
            acc = self.acc

            def dense(x: Any, keys: Any) -> Any:
                wkey, _, k = keys
                index = k * self.dense_count + slot
                u = jax.random.normal(jax.random.fold_in(wkey, index), (n, n), acc)
                row_sum = jnp.sum(u, axis=1)
                row_sq = jnp.sum(jnp.square(u), axis=1)
                xu = jax.lax.dot_general(x, u, (((1,), (1,)), ((), ())),
                                         precision=jax.lax.Precision.HIGHEST,
                                         preferred_element_type=acc)
                u_bar = row_sum / n
                centred_sq = jnp.maximum(row_sq - row_sum * u_bar, 0.0)
                c = jnp.sqrt((tau - omega**2 / n) / centred_sq)
                x_sum = jnp.sum(x, axis=1, keepdims=True)
                return f((omega / n) * x_sum + c * (xu - u_bar * x_sum))

            return dense
        if isinstance(block, Act):
            f = self._activation(block.act)
            return lambda x, keys: f(x)
        if isinstance(block, AlphaDropout | Dropout):
            slot = self.mask_count
            self.mask_count += 1
            keep = float(1 - block.q)
            if isinstance(block, AlphaDropout):
                alpha_prime, a, b = self.constants.alpha_dropout[block.q]

                def drop(y: Any, kept: Any) -> Any:
                    return a * jnp.where(kept, y, alpha_prime) + b
            else:
                def drop(y: Any, kept: Any) -> Any:
                    return jnp.where(kept, y / keep, 0.0)

            def dropout(x: Any, keys: Any) -> Any:
                _, dkey, k = keys
                index = k * self.mask_count + slot
                kept = jax.random.bernoulli(jax.random.fold_in(dkey, index), keep, x.shape)
                return drop(x, kept)

            return dropout
        if isinstance(block, LayerNorm):
            def layer_norm(x: Any, keys: Any) -> Any:
                centred = x - jnp.mean(x, axis=1, keepdims=True)
                return centred / jnp.sqrt(jnp.mean(jnp.square(centred), axis=1, keepdims=True))

            return layer_norm
        if isinstance(block, Residual):
            w = float(block.w)
            c = math.sqrt(float(1 - block.w * block.w))
            branch = self._sequence(block.branch)
            return lambda x, keys: c * x + w * branch(x, keys)
        raise TypeError(f"not a block: {block!r}")


def pooled_mean_variance(y: Any) -> Any:
    """[mean, variance] of all entries of y (batch × units): the mean over units of each
    unit's mean over the batch, and the law of total variance (as ``snn-theory simulate``)."""
    import jax.numpy as jnp

    m_unit = jnp.mean(y, axis=0)
    v_unit = jnp.mean(jnp.square(y - m_unit), axis=0)
    mean = jnp.mean(m_unit)
    return jnp.stack([mean, jnp.mean(v_unit) + jnp.mean(jnp.square(m_unit - mean))])


# ----------------------------------------------------------------------- the certified side
@dataclass(frozen=True)
class Iterate:
    """Application k of the certified map: balls ``mu``, ``nu`` containing the k-th iterate
    from the start, and ``jacobian`` (balls, rows) of the map at the previous iterate (None
    for k = 0)."""

    mu: Any
    nu: Any
    jacobian: Any = None


def certified_iterates(network: Network, mean0: Fraction, var0: Fraction, omega: Fraction,
                       tau: Fraction, depth: int, bits: int = ITERATE_BITS) -> list[Iterate]:
    """The iterates k = 0..depth of the network's map from (mean0, var0) as arb balls that
    contain them (each iterate's balls are the next one's input; the map's enclosures are
    interval extensions), with the map's Jacobian at each step.  :class:`InputError` when the
    map leaves its domain; :class:`NumericalFailure` when a ball is no longer finite."""
    from snn_theory.evaluate.network_map import evaluate_network, number

    with working_precision(bits=bits):
        out = [Iterate(number(mean0, "arb"), number(var0, "arb"))]
        for k in range(1, depth + 1):
            try:
                r = evaluate_network(network, out[-1].mu, out[-1].nu, omega=omega, tau=tau,
                                     backend="arb")
            except DomainUndecided as exc:
                raise NumericalFailure(f"the certified iterates at {bits} bits could not be "
                                       f"continued at application {k}: {exc}") from None
            if not (r.mean.is_finite() and r.variance.is_finite()):
                raise NumericalFailure(f"the certified iterates are no longer finite balls at "
                                       f"application {k}")
            out.append(Iterate(r.mean, r.variance, r.jacobian))
    return out


def has_closure(network: Network) -> bool:
    """Whether the network has an act(...) block (its map assumes a Gaussian input)."""
    return any(isinstance(b, Act) for b in _blocks(network.blocks))


# ----------------------------------------------------------------------- the result
@dataclass(frozen=True)
class NetworkStep:
    """Application k: the empirical ``mean``, ``variance`` (averaged over the seeds), their
    standard errors over the seeds (None with one seed), the certified balls ``mu``, ``nu``,
    and the deviations in units of the error law's scale (√νₖ·s, νₖ·s)."""

    application: int
    mean: float
    variance: float
    mean_se: float | None
    variance_se: float | None
    mu: Any
    nu: Any
    mean_scale: float
    variance_scale: float
    mean_ratio: float
    variance_ratio: float

    @property
    def agrees(self) -> bool:
        return bool(self.mean_ratio <= ERROR_MULTIPLE and self.variance_ratio <= ERROR_MULTIPLE)

    def to_json(self) -> dict[str, Any]:
        return {"application": self.application, "mean": self.mean, "variance": self.variance,
                "mean_se": self.mean_se, "variance_se": self.variance_se,
                "certified_mean": ball_text(self.mu, 17),
                "certified_variance": ball_text(self.nu, 17),
                "mean_ratio": self.mean_ratio, "variance_ratio": self.variance_ratio,
                "agrees": self.agrees}


@dataclass(frozen=True)
class NetworkSimulation:
    """The Monte Carlo of a network against its certified iterates.  ``per_seed``: array
    (seeds, depth + 1, 2) of each network's pooled (mean, variance); ``scale``: s of the
    error law; ``closure``: the network has an act(...) block (see the module docstring)."""

    network: Network
    config: NetworkSimulationConfig
    steps: tuple[NetworkStep, ...]
    per_seed: np.ndarray
    scale: float
    closure: bool
    alpha_dropout: dict[Fraction, tuple[float, float, float]]
    seconds: float
    device: str

    @property
    def agrees(self) -> bool:
        """Every application within the error law."""
        return all(s.agrees for s in self.steps)

    @property
    def worst_ratio(self) -> float:
        """The largest deviation over the applications, in units of the law's scale."""
        return max(max(s.mean_ratio, s.variance_ratio) for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {"network": self.network.spelling(), "config": self.config.to_dict(),
                "evidence": "Monte Carlo (not a proof); certified_*: outward intervals "
                            "containing the iterates of the infinite-width map",
                "error_law": {"law": ERROR_LAW, "K": ERROR_MULTIPLE, "s": self.scale},
                "gaussian_closure": self.closure,
                "alpha_dropout": {format_fraction(q): {"alpha_prime": v[0], "a": v[1], "b": v[2]}
                                  for q, v in sorted(self.alpha_dropout.items())},
                "steps": [s.to_json() for s in self.steps],
                "agrees": self.agrees, "worst_ratio": self.worst_ratio,
                "device": self.device, "seconds": self.seconds}


# ----------------------------------------------------------------------- the run
def simulate_network(network: Network | str, config: NetworkSimulationConfig,
                     progress: ProgressCallback | None = None) -> NetworkSimulation:
    """Sample ``network`` at finite width (see the module docstring) and compare each
    application's pooled (mean, variance) with the certified iterates of its map.

    ``progress(done, total)`` counts applications over all seeds.  Raises
    :class:`InputError` for bad input (also when the map leaves its domain ν > 0),
    :class:`NumericalFailure` when the sampled moments are not finite."""
    from snn_theory.simulate.devices import dtype_scope

    network = parse_network(network)
    config.validate()
    check_network(network, config)
    exact = config.exact()
    iterates = certified_iterates(network, exact["mean0"], exact["var0"], exact["omega"],
                                  exact["tau"], config.depth)
    constants = network_constants(network)
    with dtype_scope(config.dtype):
        per_seed, seconds, device = _sample(network, config, exact, constants, progress)
    return compare(network, config, per_seed, iterates, constants, seconds, device)


def check_memory(config: NetworkSimulationConfig, kept: int, device: Any) -> None:
    """:class:`InputError` when weights (2·N²) and ``kept`` activation arrays (B·N) would
    exceed 80 % of the device's memory."""
    from snn_theory.simulate.devices import MEMORY_FRACTION, available_memory, human_bytes

    size = 8 if config.dtype == "float64" else 4
    estimate = size * (3 * config.width ** 2 + (kept + 6) * config.batch * config.width)
    avail = available_memory(device)
    if avail is not None and estimate > MEMORY_FRACTION * avail:
        raise InputError(f"the network simulation needs about {human_bytes(estimate)} but "
                         f"the limit is {human_bytes(MEMORY_FRACTION * avail)}; reduce the "
                         "width, the batch or the depth")


def _sample(network: Network, config: NetworkSimulationConfig, exact: dict[str, Fraction],
            constants: SampledConstants, progress: ProgressCallback | None
            ) -> tuple[np.ndarray, float, str]:
    import jax
    import jax.numpy as jnp

    from snn_theory.simulate.engine import random_keys

    device = jax.devices()[0]
    check_memory(config, 2, device)
    sampler = NetworkSampler(network, config.width, exact["omega"], exact["tau"],
                             config.dtype, constants)
    acc = sampler.acc
    step = jax.jit(lambda x, w, d, k: (lambda y: (y, pooled_mean_variance(y)))(
        sampler.apply(x, w, d, k)))
    inputs = jax.jit(lambda key, m, v: (lambda x: (x, pooled_mean_variance(x)))(
        (m + jnp.sqrt(v) * jax.random.normal(key, (config.batch, config.width), acc))
        .astype(acc)))
    mean0 = jnp.asarray(float(exact["mean0"]), acc)
    var0 = jnp.asarray(float(exact["var0"]), acc)
    total = config.seeds * config.depth
    out = np.empty((config.seeds, config.depth + 1, 2))
    t0 = time.perf_counter()
    for s in range(config.seeds):
        data_key, dropout_key, weight_key = random_keys(config.key_config(config.seed + s),
                                                        device.platform)
        x, first = inputs(data_key, mean0, var0)
        rows = [first]
        for k in range(config.depth):
            x, row = step(x, weight_key, dropout_key, jnp.asarray(k, jnp.int32))
            rows.append(row)
            if progress is not None:
                progress(s * config.depth + k + 1, total)
        out[s] = np.asarray(jnp.stack(rows), dtype=np.float64)
    seconds = time.perf_counter() - t0
    if not np.all(np.isfinite(out)):
        bad = int(np.argmin(np.all(np.isfinite(out), axis=(0, 2))))
        raise NumericalFailure(f"the sampled moments are not finite from application {bad} on "
                               f"(overflow, or a layer_norm of a constant sample in "
                               f"{config.dtype}); nothing is reported")
    return out, seconds, f"{device.platform} ({device.device_kind})"


def _ratio(deviation: float, scale: float) -> float:
    if scale > 0:
        return deviation / scale
    return 0.0 if deviation == 0 else math.inf


def error_scales(iterates: list[Iterate], s: float) -> list[tuple[float, float]]:
    """The error law's scale (for the mean, for the variance) at each application: a fresh
    error s·(√νₖ, νₖ) per application plus the earlier ones carried by the map,
    bₖ = |Jₖ|·bₖ₋₁ + s·(√νₖ, νₖ) with |Jₖ| the entrywise absolute Jacobian (midpoints) of the
    map at the previous iterate; b₀ = s·(√ν₀, ν₀) (the inputs' own sampling error)."""
    out: list[tuple[float, float]] = []
    for it in iterates:
        nu = max(float(it.nu.mid()), 0.0)
        fresh = (s * math.sqrt(nu), s * nu)
        if it.jacobian is None or not out:
            out.append(fresh)
            continue
        (a, b), (c, d) = ((abs(float(x.mid())) for x in row) for row in it.jacobian)
        prev = out[-1]
        out.append((a * prev[0] + b * prev[1] + fresh[0], c * prev[0] + d * prev[1] + fresh[1]))
    return out


def _ratio(deviation: float, scale: float) -> float:
    if scale > 0:
        return deviation / scale
    return 0.0 if deviation == 0 else math.inf


def compare(network: Network, config: NetworkSimulationConfig, per_seed: np.ndarray,
            iterates: list[Iterate], constants: SampledConstants, seconds: float,
            device: str) -> NetworkSimulation:
    """The per-application comparison of the sampled moments (``per_seed``, shape
    (seeds, depth + 1, 2)) with the certified ``iterates`` under the error law."""
    seeds = per_seed.shape[0]
    s = 1 / math.sqrt(config.width * config.batch * seeds) + 1 / config.width
    mean = per_seed.mean(axis=0)
    se = per_seed.std(axis=0, ddof=1) / math.sqrt(seeds) if seeds > 1 else None
    steps = []
    for k, (it, scale) in enumerate(zip(iterates, error_scales(iterates, s), strict=True)):
        # the deviation from the nearest point of the ball (its radius is far below s)
        dm = max(abs(float(mean[k, 0]) - float(it.mu.mid())) - float(it.mu.rad()), 0.0)
        dv = max(abs(float(mean[k, 1]) - float(it.nu.mid())) - float(it.nu.rad()), 0.0)
        steps.append(NetworkStep(
            k, float(mean[k, 0]), float(mean[k, 1]),
            None if se is None else float(se[k, 0]), None if se is None else float(se[k, 1]),
            it.mu, it.nu, scale[0], scale[1], _ratio(dm, scale[0]), _ratio(dv, scale[1])))
    return NetworkSimulation(network, config, tuple(steps), per_seed, s, has_closure(network),
                             constants.alpha_dropout, seconds, device)


__all__ = ["ERROR_LAW", "ERROR_MULTIPLE", "ITERATE_BITS", "NETWORK_DTYPES", "SampledConstants",
           "NetworkSampler", "NetworkSimulation", "NetworkSimulationConfig", "NetworkStep",
           "Iterate", "certified_iterates", "check_memory", "check_network", "dense_weights", "compare", "error_scales", "has_closure", "network_constants",
           "pooled_mean_variance", "simulate_network"]
