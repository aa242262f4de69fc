"""Where a simulation runs: the memory a configuration needs and the memory a device has, the
float64 scope, and the mesh that shards the batch over every visible device.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from snn_theory.errors import InputError
from snn_theory.simulate.config import SimulationConfig

#: Default fraction of the available memory a configuration may use.
MEMORY_FRACTION = 0.8


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


def human_bytes(n: float) -> str:
    """A byte count for messages (``1.5 GiB``)."""
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


def mesh_for(batch: int) -> tuple[Any, int]:
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
