"""Benchmark of ``snn-theory simulate``: time per layer against a bare jitted matmul.

    python benchmarks/bench_simulate.py --quick      # CPU, a few seconds
    python benchmarks/bench_simulate.py              # CPU configurations, plus the one-GPU
                                                     # configuration when a GPU is visible
    python benchmarks/bench_simulate.py --json

For each configuration, measured in the same process on the same devices:

* ``simulate``: seconds per layer of :func:`snn_theory.simulate.engine.simulate` (best of
  ``--repeats`` runs, after a warm-up run that compiles the same chunk length; includes weight generation inside the scan,
  the normalisation, SELU, dropout if any, the per-layer statistics and the host transfer of
  the statistics after each chunk; excludes the one-time analytic prediction);
* ``matmul``: seconds per layer of a bare ``jax.lax.scan`` of ``x ← x·W`` with a fixed,
  pre-generated W in the same dtype, float32 accumulation, the same batch sharding;
* ``weights``: seconds to generate one layer's raw weights and their row statistics alone;
* ratio = simulate / matmul target on a GPU: ≤ 1.3) and the achieved FLOP/s
  2·B·N² / (seconds per layer).

The one-GPU configuration — width 16384, depth 1000, batch 4096, bfloat16 — runs only
when ``jax.default_backend()`` is ``gpu`` (or with ``--gpu-config`` on any device, if you
have the memory and patience).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time

import jax
import jax.numpy as jnp
from _timing import best_of  # benchmarks/_timing.py (run as python benchmarks/NAME.py)
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from snn_theory.simulate.config import SimulationConfig
from snn_theory.simulate.devices import mesh_for
from snn_theory.simulate.engine import simulate

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float64": jnp.float64}



def bare_matmul_per_layer(config: SimulationConfig, repeats: int) -> float:
    mesh, _ = mesh_for(config.batch)
    n, dt = config.width, DTYPES[config.dtype]
    acc = jnp.float64 if config.dtype == "float64" else jnp.float32
    precision = (jax.lax.Precision.HIGHEST if config.dtype != "bfloat16"
                 else jax.lax.Precision.DEFAULT)
    xs = NamedSharding(mesh, P("batch", None))
    key = jax.random.key(1)
    w = jax.device_put((jax.random.normal(key, (n, n), acc) / math.sqrt(n)).astype(dt),
                       NamedSharding(mesh, P()))
    x = jax.device_put(jax.random.normal(jax.random.key(2), (config.batch, n), acc).astype(dt),
                       xs)

    @jax.jit
    def run(x, w):
        def body(c, _):
            y = jax.lax.dot_general(c, w, (((1,), (1,)), ((), ())), precision=precision,
                                    preferred_element_type=acc)
            return y.astype(dt), None

        return jax.lax.scan(body, x, None, length=config.depth)[0]

    jax.block_until_ready(run(x, w))
    return best_of(lambda: jax.block_until_ready(run(x, w)), repeats) / config.depth


def weight_generation(config: SimulationConfig, repeats: int) -> float:
    n, dt = config.width, DTYPES[config.dtype]
    acc = jnp.float64 if config.dtype == "float64" else jnp.float32
    impl = config.prng
    if impl == "auto":
        impl = "threefry2x32" if jax.default_backend() == "cpu" else "rbg"
    elif impl == "threefry":
        impl = "threefry2x32"
    key = jax.random.key(3, impl=impl)

    @jax.jit
    def gen(key, i):
        u = jax.random.normal(jax.random.fold_in(key, i), (n, n), acc).astype(dt).astype(acc)
        return jnp.sum(u, axis=1), jnp.sum(u * u, axis=1)

    jax.block_until_ready(gen(key, 0))
    return best_of(lambda: jax.block_until_ready(gen(key, 1)), repeats)


def simulate_per_layer(config: SimulationConfig, repeats: int) -> tuple[float, float]:
    chunk = config.chunk or max(1, -(-config.depth // 20))
    t = time.perf_counter()
    simulate(dataclasses.replace(config, depth=chunk, chunk=chunk))  # compiles this chunk
    compile_s = time.perf_counter() - t
    best = min(simulate(dataclasses.replace(config, chunk=chunk)).seconds for _ in range(repeats))
    return best / config.depth, compile_s


def measure(config: SimulationConfig, repeats: int) -> dict:
    sim, compile_s = simulate_per_layer(config, repeats)
    mm = bare_matmul_per_layer(config, repeats)
    gen = weight_generation(config, repeats)
    flops = 2.0 * config.batch * config.width**2
    return {"width": config.width, "depth": config.depth, "batch": config.batch,
            "dtype": config.dtype, "weights": config.weights, "prng": config.prng,
            "dropout_rate": config.dropout_rate,
            "simulate_s_per_layer": sim, "matmul_s_per_layer": mm, "weights_s_per_layer": gen,
            "ratio": sim / mm, "simulate_flops": flops / sim, "matmul_flops": flops / mm,
            "warmup_s": compile_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small CPU configuration")
    parser.add_argument("--gpu-config", action="store_true",
                        help="run the 16384/1000/4096 bfloat16 configuration even without a GPU")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    backend = jax.default_backend()
    devices = jax.devices()
    configs: list[SimulationConfig] = []
    if args.quick:
        configs.append(SimulationConfig(width=512, depth=20, batch=256, dtype="float32"))
    elif backend == "cpu" and not args.gpu_config:
        base = SimulationConfig(width=1024, depth=40, batch=1024)
        configs += [base, dataclasses.replace(base, dtype="bfloat16"),
                    dataclasses.replace(base, weights="lecun"),
                    dataclasses.replace(base, dropout_rate=0.1)]
    if backend in ("gpu", "tpu") or args.gpu_config:
        big = SimulationConfig(width=16384, depth=1000, batch=4096, dtype="bfloat16")
        configs += [big, dataclasses.replace(big, prng="threefry"),
                    dataclasses.replace(big, width=8192, depth=200, dtype="float32")]
    if backend in ("gpu", "tpu") and not args.quick:
        configs.insert(0, SimulationConfig(width=4096, depth=200, batch=4096, dtype="bfloat16"))

    rows = []
    for c in configs:
        rows.append(measure(c, args.repeats))
        if not args.json:
            r = rows[-1]
            print(f"N={r['width']:>6} L={r['depth']:>5} B={r['batch']:>5} {r['dtype']:>8} "
                  f"{r['weights']:>10} prng={r['prng']:<8} drop={r['dropout_rate']:<4} | "
                  f"simulate {r['simulate_s_per_layer'] * 1e3:9.3f} ms/layer "
                  f"({r['simulate_flops'] / 1e12:7.3f} TFLOP/s) | matmul "
                  f"{r['matmul_s_per_layer'] * 1e3:9.3f} ms ({r['matmul_flops'] / 1e12:7.3f} "
                  f"TFLOP/s) | weights {r['weights_s_per_layer'] * 1e3:8.3f} ms | "
                  f"ratio {r['ratio']:.2f}", flush=True)
    summary = {"backend": backend, "devices": [str(d) for d in devices],
               "device_kind": devices[0].device_kind, "results": rows}
    if args.json:
        json.dump(summary, sys.stdout)
        print()
    else:
        print(f"{len(devices)} × {devices[0].device_kind} ({backend}); ratio = simulate / bare "
              "matmul of the same shapes in this run (target on a GPU: ≤ 1.3)")
        if backend == "cpu":
            print("no GPU here: the 16384 × 1000 × 4096 bfloat16 configuration was not run")


if __name__ == "__main__":
    main()
