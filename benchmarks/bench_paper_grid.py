"""Benchmark: grid points per second of the paper-method scan).

Measures the jitted, sharded JAX kernel of :mod:`snn_theory.certify.paper.grid` on a slice of the
paper's 3.4·10⁹-point grid (appendix domain, docs/mathematics.md §5) — on every CPU core as a device, and
on the GPU when there is one — extrapolates the time of the full paper grid (target: < 10 s
on one H100, i.e. > 3·10⁸ points/s), and prints the ratio to a numpy/scipy evaluation
(``backends.evaluator("numpy", ("spectral_norm",))``) of the same points in the same run.

    python benchmarks/bench_paper_grid.py            # 2^22 points per device kind
    python benchmarks/bench_paper_grid.py --quick    # 2^19 points (CI-sized)
    python benchmarks/bench_paper_grid.py --points 1e9 --chunk 16777216   # e.g. on a GPU

Compilation is excluded (one warm-up scan of the first chunk); the numpy baseline evaluates
the same flat-index range (coordinates built with the same integer arithmetic) in blocks of
2^18 points.  Also checks that both give the same maximum to 1e-13.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if "jax" not in sys.modules and "xla_force_host_platform_device_count" not in os.environ.get(
        "XLA_FLAGS", ""):
    # every CPU core as a JAX device, so that the sharded kernel uses all of them
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + f" --xla_force_host_platform_device_count={os.cpu_count()}")

import jax  # noqa: E402
import numpy as np  # noqa: E402

from snn_theory.certify.paper import grid as paper_grid  # noqa: E402
from snn_theory.evaluate import backends  # noqa: E402


def numpy_slice_max(spec: paper_grid.GridSpec, count: int, block: int = 1 << 18) -> tuple[float, float]:
    """(max S, seconds) over flat indices [0, count) with numpy/scipy float64."""
    f = backends.evaluator("numpy", ("spectral_norm",))
    lam, alpha = paper_grid.float_constants()
    lo = np.array([d[0] for d in spec.domain])
    hi = np.array([d[1] for d in spec.domain])
    step = np.array(spec.spacings)
    best = -np.inf
    t0 = time.perf_counter()
    for start in range(0, count, block):
        k = np.arange(start, min(start + block, count), dtype=np.int64)
        coords = []
        for i in (3, 2, 1, 0):
            k, j = np.divmod(k, spec.points[i])
            coords.append(np.clip(lo[i] + j * step[i], lo[i], hi[i]))
        mu, omega, nu, tau = coords[::-1]
        best = max(best, float(np.max(f(mu, omega, nu, tau, lam, alpha)[0])))
    return best, time.perf_counter() - t0


def jax_slice(spec: paper_grid.GridSpec, count: int, platform: str, chunk: int | None,
              repeats: int, device_count: int | None = None) -> dict:
    """Scan flat indices [0, count) of ``spec`` on ``platform``; best of ``repeats``."""
    devices = jax.devices(platform)[:device_count]
    chunk = chunk or paper_grid._default_chunk(devices)
    chunk = min(chunk, count)

    class _Slice(paper_grid.GridSpec):  # the same grid, truncated to its first `count` points
        @property
        def total(self) -> int:
            return count

    sliced = _Slice(spec.domain, spec.points, spec.name)
    kw = dict(chunk_size=chunk, platform=platform, device_count=len(devices))
    paper_grid.scan_grid(sliced, **kw)  # compile + warm up
    best = None
    for _ in range(repeats):
        r = paper_grid.scan_grid(sliced, **kw)
        if best is None or r.seconds < best.seconds:
            best = r
    return {"max": best.max, "seconds": best.seconds, "devices": best.devices,
            "chunk_size": best.chunk_size, "points_per_second": best.points_per_second,
            "platform": platform, "device_kind": devices[0].device_kind}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2^19 points (fast)")
    parser.add_argument("--points", type=float, default=None, help="points to scan per device kind")
    parser.add_argument("--chunk", type=int, default=None, help="points per kernel call")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--numpy-points", type=float, default=None,
                        help="points for the numpy baseline (default: same as --points, "
                             "at most 2^22)")
    args = parser.parse_args()
    spec = paper_grid.grid_spec("appendix", "paper")
    count = int(args.points) if args.points else (1 << 19 if args.quick else 1 << 22)
    count = min(count, spec.total)
    np_count = int(args.numpy_points) if args.numpy_points else min(count, 1 << 22)

    print(f"paper grid: {spec.total:,} points {spec.points} on the appendix domain; "
          f"scanning its first {count:,} points")
    np_max, np_seconds = numpy_slice_max(spec, np_count)
    np_rate = np_count / np_seconds
    print(f"  numpy/scipy float64 : {np_rate:14,.0f} points/s  ({np_count:,} points, "
          f"{np_seconds:.2f} s)  -> full paper grid {spec.total / np_rate:,.0f} s")

    runs: list[tuple[str, int | None]] = [("cpu", None)]
    if len(jax.devices("cpu")) > 1:
        runs.insert(0, ("cpu", 1))  # one device: shows what sharding over the cores gains
    try:
        if jax.devices("gpu"):
            runs.append(("gpu", None))
    except RuntimeError:
        pass
    for platform, device_count in runs:
        r = jax_slice(spec, count, platform, args.chunk, args.repeats, device_count)
        rate = r["points_per_second"]
        print(f"  JAX {platform} x{r['devices']} ({r['device_kind']}): {rate:14,.0f} points/s  "
              f"(chunk {r['chunk_size']:,}, {r['seconds']:.2f} s)  -> full paper grid "
              f"{spec.total / rate:,.1f} s;  ratio to numpy: {rate / np_rate:.1f}x")
        if count == np_count:
            agree = abs(r["max"] - np_max) <= 1e-13
            print(f"    max S over the slice: JAX {r['max']!r}  numpy {np_max!r}  "
                  f"({'agree' if agree else 'DISAGREE'} to 1e-13)")
            if not agree:
                sys.exit(1)
        if platform == "gpu":
            target = 3e8
            print(f"    target > {target:.0e} points/s (full grid < 10 s on one H100): "
                  f"{'met' if rate > target else 'not met'}")


if __name__ == "__main__":
    main()
