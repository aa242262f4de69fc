"""The float64 grid maximum of the paper's method (step 1 of :mod:`snn_theory.certify.paper.verdict`).

The grid has ``n_i`` points per variable, spaced ``Δ_i = (b_i − a_i)/(n_i − 1)`` and
including both ends, over the domain ``[a_μ, b_μ] × [a_ω, b_ω] × [a_ν, b_ν] × [a_τ, b_τ]``.
It is streamed in chunks of flat indices; each chunk's points are generated *inside* the
jitted kernel from its first index by integer division (the grid is never materialised), S
is evaluated with the one set of formulas (:func:`snn_theory.evaluate.backends.evaluator`
``("jax", ("spectral_norm",))``, float64), and the chunk is max-reduced with its argmax.  The
chunk's index array is sharded over the devices given (``jax.sharding.Mesh`` +
``NamedSharding``; every device JAX sees by default).  The maximum of a set of floats does
not depend on the order of reduction, and ties are broken towards the smaller flat index, so
the result is bit-identical for every chunk size and device count.

This module never changes the process environment: to shard over every CPU core, the
caller exposes them as JAX devices before JAX starts (the CLI does).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snn_theory.certify.claims import BUILTIN_CLAIMS
from snn_theory.derive.formulas import VARIABLE_NAMES
from snn_theory.errors import InputError, Interrupted
from snn_theory.evaluate import backends
from snn_theory.evaluate.moment_map import default_constants
from snn_theory.files import StateFile

#: ``--theorem`` choice → the built-in contraction claim the paper's method checks.
CLAIM_NAMES: dict[str, str] = {
    "1": "theorem1.contraction",
    "appendix": "appendix.contraction_wide_tau",
}
#: The domains (docs/mathematics.md §4) as exact decimal strings, in the order of
#: :data:`snn_theory.certify.claims.VARIABLE_NAMES` — read from the claims registry, whose domains
#: they are: Theorem 1's Ω, and the appendix's wider τ range.  The grid uses their float64
#: roundings (:data:`DOMAINS`), the derivative-bound tiling is widened by one ulp outward so
#: that it contains the decimal box, and the lower bound of max S is evaluated at a point of
#: the decimal box.
DOMAIN_DECIMALS: dict[str, tuple[tuple[str, str], ...]] = {
    theorem: tuple(tuple(BUILTIN_CLAIMS[name].domain.to_json()[v]) for v in VARIABLE_NAMES)
    for theorem, name in CLAIM_NAMES.items()
}
DOMAINS: dict[str, tuple[tuple[float, float], ...]] = {
    name: tuple((float(lo), float(hi)) for lo, hi in box) for name, box in DOMAIN_DECIMALS.items()
}

#: The paper's grid spacings (docs/mathematics.md §5) for (μ, ω, ν, τ).
PAPER_SPACINGS: tuple[float, ...] = (0.0068097371, 0.0008292885, 0.0009580840, 0.0007323095)

#: Points per dimension (μ, ω, ν, τ) of the smaller grids, on whichever domain is chosen:
#: coarse = 9·9·36·46 = 134,136 points, fine = 17·33·141·121 = 9,571,221 points.
#: On the appendix domain (margin 1 − max S ≈ 0.011) coarse is too coarse for the bounds
#: (inconclusive, by design a demonstration of the thin margin); fine concludes.
#: ``paper`` uses the paper's spacings: n_i = ⌈(b_i − a_i)/Δ_i⌉ + 1, i.e. 31·243·732·616
#: = 3,396,720,096 points on the appendix domain (31·243·732·206 on Theorem 1's).
GRID_POINTS: dict[str, tuple[int, ...]] = {
    "coarse": (9, 9, 36, 46),
    "fine": (17, 33, 141, 121),
}
GRIDS: tuple[str, ...] = ("coarse", "fine", "paper")

#: The kind of the scan's state file (:class:`snn_theory.files.StateFile`).
SCAN_STATE = "paper-grid-scan"
#: Version of the scan's state file (and of the derivative bounds' cache key).
STATE_VERSION = 1

#: ``progress(done, total)``: grid points folded into the maximum so far, of ``total``.
ScanProgress = Callable[[int, int], None]


# ----------------------------------------------------------------------------- the grid
@dataclass(frozen=True)
class GridSpec:
    """A uniform grid over a box: ``points[i]`` points from ``domain[i][0]`` to ``domain[i][1]``."""

    domain: tuple[tuple[float, float], ...]
    points: tuple[int, ...]
    name: str = "custom"

    def __post_init__(self) -> None:
        if len(self.domain) != 4 or len(self.points) != 4:
            raise InputError("a grid needs 4 dimensions (mu, omega, nu, tau)")
        for (lo, hi), n in zip(self.domain, self.points):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise InputError(f"empty or reversed interval [{lo}, {hi}]")
            if int(n) != n or n < 2:
                raise InputError("a grid needs at least 2 points per dimension")

    @property
    def total(self) -> int:
        return math.prod(self.points)

    @property
    def spacings(self) -> tuple[float, ...]:
        """Δ_i = (b_i − a_i)/(n_i − 1) in float64 (the kernel's step)."""
        return tuple((hi - lo) / (n - 1) for (lo, hi), n in zip(self.domain, self.points))

    def key(self) -> str:
        """Identity of the grid, for state files."""
        return json.dumps({"domain": self.domain, "points": self.points})

    def point(self, flat_index: int) -> tuple[float, ...]:
        """Coordinates of the grid point with this flat index (as the kernel computes them)."""
        coords = []
        k = int(flat_index)
        for (lo, hi), n, h in reversed(list(zip(self.domain, self.points, self.spacings))):
            k, j = divmod(k, n)
            x = np.float64(lo) + np.float64(j) * np.float64(h)
            coords.append(float(min(max(x, lo), hi)))
        return tuple(reversed(coords))


def grid_spec(theorem: str, grid: str | Sequence[int]) -> GridSpec:
    """The grid ``grid`` ("coarse" | "fine" | "paper" | points per dimension) on ``theorem``'s domain.

    ``paper``: the paper's spacings Δ_i (docs/mathematics.md §5), rounded *down* to fit the domain a
    whole number of times (n_i = ⌈(b_i − a_i)/Δ_i⌉ + 1 points, so every Δ_i ≤ the paper's).
    """
    if theorem not in DOMAINS:
        raise InputError(f"the paper's method covers theorem 1 or appendix, not {theorem!r}")
    domain = DOMAINS[theorem]
    if isinstance(grid, str):
        if grid == "paper":
            points = tuple(
                math.ceil((hi - lo) / d - 1e-12) + 1 for (lo, hi), d in zip(domain, PAPER_SPACINGS)
            )
        elif grid in GRID_POINTS:
            points = GRID_POINTS[grid]
        else:
            raise InputError(f"unknown grid {grid!r}; choose one of {', '.join(GRIDS)}")
        return GridSpec(domain, points, grid)
    return GridSpec(domain, tuple(int(n) for n in grid), "custom")


def float_constants() -> tuple[float, float]:
    """λ01, α01 rounded to float64 from their closed forms (what the kernel uses)."""
    lam, alpha = default_constants("numpy")
    return float(lam), float(alpha)


_KERNELS: dict[Any, Callable[..., Any]] = {}


def _devices(device_count: int | None = None, platform: str | None = None) -> list[Any]:
    import jax

    devices = jax.devices(platform)
    return devices if device_count is None else devices[:device_count]


def _grid_arrays(spec: GridSpec) -> tuple[Any, ...]:
    """The grid as runtime arrays (lo, step, hi: float64[4]; n: int64[4]; total: int64), so
    one compiled kernel serves every grid of the same chunk size."""
    import jax.numpy as jnp

    lo = jnp.asarray([d[0] for d in spec.domain], dtype=jnp.float64)
    hi = jnp.asarray([d[1] for d in spec.domain], dtype=jnp.float64)
    step = jnp.asarray(spec.spacings, dtype=jnp.float64)
    n = jnp.asarray(spec.points, dtype=jnp.int64)
    return lo, step, hi, n, jnp.asarray(spec.total, dtype=jnp.int64)


def _coordinates(grid: tuple[Any, ...], idx: Any) -> list[Any]:
    """Grid coordinates of flat indices ``idx`` (int64, τ fastest) inside a JAX trace:
    x_i = clip(a_i + j_i·Δ_i, a_i, b_i), exactly as :meth:`GridSpec.point` computes them."""
    import jax.numpy as jnp

    lo, step, hi, n = grid[:4]
    coords = []
    k = idx
    for i in (3, 2, 1, 0):
        j = k % n[i]
        k = k // n[i]
        coords.append(jnp.clip(lo[i] + j.astype(jnp.float64) * step[i], lo[i], hi[i]))
    return coords[::-1]


_NO_INDEX = 2**62


def _max_first(a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    """Associative, commutative reducer: the larger value; on ties the smaller index."""
    import jax.numpy as jnp

    (va, ia), (vb, ib) = a, b
    take_b = (vb > va) | ((vb == va) & (ib < ia))
    return jnp.where(take_b, vb, va), jnp.where(take_b, ib, ia)


def _chunk_kernel(chunk: int, devices: Sequence[Any]) -> Callable[..., Any]:
    """jit(start, grid arrays) -> (max S, its smallest flat index) over [start, start + chunk).

    NaN values count as +inf (so they win and are located); indices ≥ total are ignored.
    """
    key = ("chunk", chunk, tuple(str(d) for d in devices))
    if key in _KERNELS:
        return _KERNELS[key]
    import jax
    import jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(devices), ("d",))
    sharding = NamedSharding(mesh, PartitionSpec("d"))
    f = backends.evaluator("jax", ("spectral_norm",))
    lam, alpha = float_constants()

    def kernel(start: Any, grid: tuple[Any, ...]) -> tuple[Any, Any]:
        idx = start + jnp.arange(chunk, dtype=jnp.int64)
        idx = jax.lax.with_sharding_constraint(idx, sharding)
        valid = idx < grid[4]
        s = f(*_coordinates(grid, jnp.where(valid, idx, 0)), lam, alpha)[0]
        # NaN -> +inf (it wins the max: a non-finite grid max means "no conclusion");
        # padding beyond the grid -> -inf.  One consumer of s, so XLA fuses S into the
        # reduction instead of recomputing it per consumer.
        vals = jnp.where(valid, jnp.where(jnp.isnan(s), jnp.inf, s), -jnp.inf)
        return jax.lax.reduce((vals, idx), (jnp.float64(-jnp.inf), jnp.int64(_NO_INDEX)),
                              _max_first, (0,))

    compiled = jax.jit(kernel)
    _KERNELS[key] = compiled
    return compiled


def grid_values(spec: GridSpec, flat_indices: Sequence[int]) -> np.ndarray:
    """Float64 S at the given grid points, with the kernel's coordinate and S code."""
    import jax
    import jax.numpy as jnp

    key = ("values",)
    if key not in _KERNELS:
        f = backends.evaluator("jax", ("spectral_norm",))
        lam, alpha = float_constants()

        def values(idx: Any, grid: tuple[Any, ...]) -> Any:
            return f(*_coordinates(grid, idx), lam, alpha)[0]

        _KERNELS[key] = jax.jit(values)
    with jax.enable_x64(True):
        out = _KERNELS[key](jnp.asarray(np.asarray(flat_indices, dtype=np.int64)),
                            _grid_arrays(spec))
        return np.asarray(out)


def _default_chunk(devices: Sequence[Any]) -> int:
    """2^24 points per chunk on accelerators (a few ms of work each), 2^18 on CPU."""
    return 1 << 24 if devices[0].platform in ("gpu", "cuda", "rocm", "tpu") else 1 << 18


@dataclass(frozen=True)
class GridScan:
    """The outcome of :func:`scan_grid`.

    ``max`` = max of float64 S over the grid (NaN when no point was scanned), attained first
    at flat index ``argmax`` (−1: none), whose coordinates are ``point``.  A NaN of S counts
    as +inf, so a non-finite ``max`` means the scan cannot support a conclusion.  ``seconds``
    and ``points_per_second`` exclude the kernel's ahead-of-time compilation
    (``compile_seconds``); ``resumed_from`` is the flat index a resumed scan started at.
    """

    max: float
    argmax: int
    point: tuple[float, ...] | None
    points: int
    chunk_size: int
    devices: int
    seconds: float
    compile_seconds: float
    points_per_second: float
    resumed_from: int | None


def scan_grid(
    spec: GridSpec,
    chunk_size: int | None = None,
    device_count: int | None = None,
    state_path: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: ScanProgress | None = None,
    on_chunk: Callable[[int], None] | None = None,
    save_every_s: float = 1.0,
    platform: str | None = None,
) -> GridScan:
    """Maximum of float64 S over the grid, streamed in chunks and sharded over devices.

    ``state_path``: after chunks (at most every ``save_every_s`` seconds, and on
    KeyboardInterrupt) the running max/argmax and the next flat index are written
    atomically; with ``resume`` the scan continues from there (any chunk size).
    ``progress(done, total)`` is called when the scan starts and after each chunk;
    ``on_chunk(next_index)`` after each chunk too (tests use it to interrupt).
    ``platform`` ("cpu", "gpu", None = JAX's default) and ``device_count`` (the first n of
    its devices) choose the devices the chunk is sharded over.
    """
    import jax

    devices = _devices(device_count, platform)
    nd = len(devices)
    chunk = chunk_size or _default_chunk(devices)
    chunk = max(nd, -(-int(chunk) // nd) * nd)  # a multiple of the device count
    if chunk_size is None:  # an explicit chunk size is kept (one compiled kernel per size)
        chunk = min(chunk, -(-spec.total // nd) * nd)
    store = None if state_path is None else StateFile(Path(state_path), SCAN_STATE)
    if store is not None:
        store.check_target()  # a file that is not a scan state is never touched
    key = {"version": STATE_VERSION, "grid": spec.key()}

    best, best_idx, start = -math.inf, -1, 0
    resumed_from = None
    if resume and store is not None and store.path.exists():
        loaded = store.load(key)
        if loaded.status != "ok":
            raise InputError(f"cannot resume: the state file {store.path} cannot be used "
                             f"({loaded.reason}); it is kept as it is")
        state = loaded.data
        try:
            best = -math.inf if state["max"] is None else float.fromhex(state["max"])
            best_idx, start = int(state["argmax"]), int(state["next"])
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            raise InputError(f"cannot resume: unreadable state file {store.path}: {exc}") from exc
        if not 0 <= start <= spec.total or (start > 0 and not 0 <= best_idx < start):
            raise InputError(f"cannot resume: inconsistent state file {store.path}")
        resumed_from = start

    def save(next_index: int) -> None:
        if store is not None:
            store.save(key, {"next": next_index, "argmax": best_idx, "total": spec.total,
                             "max": None if best == -math.inf else float(best).hex()})

    if progress is not None:
        progress(start, spec.total)
    compile_seconds = 0.0
    t0 = time.perf_counter()
    done0 = start
    last_save = time.monotonic()
    committed = start  # every chunk below this flat index is folded into best
    try:
        with jax.enable_x64(True):
            replicated = _replicated(devices)
            arrays = jax.device_put(_grid_arrays(spec), replicated)
            if start < spec.total:  # compile ahead of time, so the rate excludes it
                first = jax.device_put(_int64(start), replicated)
                exe_key = ("exe", chunk, tuple(str(d) for d in devices))
                if exe_key not in _KERNELS:
                    _KERNELS[exe_key] = _chunk_kernel(chunk, devices).lower(first, arrays).compile()
                kernel = _KERNELS[exe_key]
                compile_seconds = time.perf_counter() - t0
                t0 = time.perf_counter()
            queue: deque[tuple[int, Any]] = deque()
            dispatch = start
            while committed < spec.total:
                # keep two chunks in flight: the device computes one while we read the other
                while len(queue) < 2 and dispatch < spec.total:
                    queue.append((dispatch, kernel(jax.device_put(_int64(dispatch), replicated),
                                                  arrays)))
                    dispatch += chunk
                c_start, (m, a) = queue.popleft()
                m, a = float(m), int(a)
                if m > best:  # strict: ties keep the earlier (smaller) flat index
                    best, best_idx = m, a
                committed = min(c_start + chunk, spec.total)
                if progress is not None:
                    progress(committed, spec.total)
                if time.monotonic() - last_save > save_every_s:
                    save(committed)
                    last_save = time.monotonic()
                if on_chunk is not None:
                    on_chunk(committed)
    except KeyboardInterrupt:
        save(committed)  # resume from the first chunk whose result was not read
        if store is None:
            raise
        raise Interrupted((store.path,), f"the grid scan up to point {committed} of "
                          f"{spec.total} in {store.path}", "rerun with --resume to continue "
                          "from there") from None
    except BaseException:
        save(committed)
        raise
    save(spec.total)
    seconds = time.perf_counter() - t0
    return GridScan(
        max=best if best > -math.inf else math.nan,
        argmax=best_idx,
        point=spec.point(best_idx) if best_idx >= 0 else None,
        points=spec.total,
        chunk_size=chunk,
        devices=nd,
        seconds=seconds,
        compile_seconds=compile_seconds,
        points_per_second=(spec.total - done0) / seconds if seconds > 0 else math.nan,
        resumed_from=resumed_from,
    )


def _replicated(devices: Sequence[Any]) -> Any:
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    return NamedSharding(Mesh(np.array(devices), ("d",)), PartitionSpec())


def _int64(value: int) -> Any:
    import jax.numpy as jnp

    return jnp.asarray(value, dtype=jnp.int64)
