"""Benchmark of the moment map: evaluations per second of g, H and S(H), stable vs naive.

    python benchmarks/bench_map.py --quick     # 10^5 points, 10^3 boxes, one repeat
    python benchmarks/bench_map.py             # 10^6 points, 10^4 boxes, best of 3
    python benchmarks/bench_map.py --json

One "evaluation" computes, at one point (or one box for arb), the quantities
``mean, variance, H11, H12, H21, H22, spectral_norm`` in one pass of the generated code.

Each row is measured beside a *naive baseline in the same run*: the same sympy formulas
(:mod:`snn_theory.derive.formulas`, compiled the same way), but with the stable primitive
``ExpErfc(a, x, q)`` replaced by the paper's direct product ``exp(a)·erfc(x)``
(scipy / jax.scipy / arb), i.e. the unstable erf/erfc formulas of the paper, docs/mathematics.md §1.
The formulas are not retyped: the baseline differs from the real thing exactly in the
stable forms, which is what the ratio prices.  Rows:

* numpy float64 on 10^6 points (vectorised);
* JAX, jit, float64 (``jax.enable_x64``) and float32 on 10^6 points (``block_until_ready``,
  compile excluded);
* arb (python-flint balls, 30 digits) on 10^4 small boxes of the Theorem 1 domain; besides
  the speed, the median width of S(H)'s enclosure, stable vs naive.

The last column counts how many naive results are not finite on a stress set
(ν·τ up to 10^3), where exp(m + v/2) overflows and erfc(X) underflows: the reason for the
stable forms.  Ratio = stable rate / naive rate (> 1: stable is faster).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np
import scipy.special as sps
from _timing import best_of  # benchmarks/_timing.py (run as python benchmarks/NAME.py)
from flint import arb

from snn_theory import working_precision
from snn_theory.derive import formulas
from snn_theory.derive.codegen import compile_function
from snn_theory.evaluate import backends
from snn_theory.evaluate.moment_map import default_constants

NAMES = ("mean", "variance", "H11", "H12", "H21", "H22", "spectral_norm")


def _naive(backend: str) -> Callable[..., tuple[Any, ...]]:
    """The same formulas with ExpErfc evaluated as the direct product exp(a)·erfc(x)."""
    namespace = dict(backends.namespace(backend))
    if backend == "numpy":
        def product(a: Any, x: Any, q: Any) -> Any:
            with np.errstate(all="ignore"):
                return np.exp(a) * sps.erfc(x)
    elif backend == "jax":
        def product(a: Any, x: Any, q: Any) -> Any:
            return jnp.exp(a) * jss.erfc(x)
    else:
        def product(a: Any, x: Any, q: Any) -> Any:
            a = a if isinstance(a, arb) else arb(a)
            x = x if isinstance(x, arb) else arb(x)
            return a.exp() * x.erfc()
    namespace["ExpErfc"] = product
    expressions = [formulas.derived_expression(n) for n in NAMES]
    return compile_function(formulas.ARGUMENTS, expressions, namespace, name=f"naive_{backend}")


def _points(n: int, seed: int, stress: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if stress:  # ν·τ log-uniform in [1e-6, 1e3], |μω| ≤ 10
        mu, omega = rng.uniform(-10, 10, n), rng.choice([-1.0, 1.0], n)
        nu, tau = 10 ** rng.uniform(-6, 3, n), np.ones(n)
    else:  # a broad region around the fixed point
        mu, omega = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
        nu, tau = rng.uniform(0.1, 3, n), rng.uniform(0.5, 1.5, n)
    return np.stack([mu, omega, nu, tau])



def _not_finite(results: tuple[Any, ...]) -> int:
    bad = np.zeros(np.asarray(results[0]).shape, dtype=bool)
    for r in results:
        bad |= ~np.isfinite(np.asarray(r, dtype=np.float64))
    return int(bad.sum())


def bench_numpy(n: int, repeats: int) -> dict[str, Any]:
    lam, alpha = default_constants("numpy")
    stable, naive = backends.evaluator("numpy", NAMES), _naive("numpy")
    x = _points(n, 1)
    with np.errstate(all="ignore"):
        t_stable = best_of(lambda: stable(*x, lam, alpha), repeats)
        t_naive = best_of(lambda: naive(*x, lam, alpha), repeats)
        s = _points(min(n, 10**5), 2, stress=True)
        bad = (_not_finite(stable(*s, lam, alpha)), _not_finite(naive(*s, lam, alpha)),
               s.shape[1])
    return _row("numpy float64", n, t_stable, t_naive, bad)


def bench_jax(n: int, repeats: int, x64: bool) -> dict[str, Any]:
    lam, alpha = default_constants("jax")
    dtype = jnp.float64 if x64 else jnp.float32
    with jax.enable_x64(x64):
        stable = jax.jit(backends.evaluator("jax", NAMES))
        naive = jax.jit(_naive("jax"))
        x = [jnp.asarray(c, dtype=dtype) for c in _points(n, 1)]

        def run(f: Callable[..., Any], args: list[Any]) -> Any:
            return jax.block_until_ready(f(*args, lam, alpha))

        run(stable, x), run(naive, x)  # compile
        t_stable = best_of(lambda: run(stable, x), repeats)
        t_naive = best_of(lambda: run(naive, x), repeats)
        s = [jnp.asarray(c, dtype=dtype) for c in _points(min(n, 10**5), 2, stress=True)]
        bad = (_not_finite(run(stable, s)), _not_finite(run(naive, s)), len(s[0]))
    return _row(f"JAX jit {'float64' if x64 else 'float32'}", n, t_stable, t_naive, bad)


def bench_arb(n: int, repeats: int) -> dict[str, Any]:
    """n boxes of width ~1e-3 in the Theorem 1 domain (docs/mathematics.md §4), 30 digits."""
    rng = np.random.default_rng(3)
    lo = np.array([-0.1, -0.1, 0.8, 0.95])
    hi = np.array([0.1, 0.1, 1.5, 1.1])
    mids = lo + (hi - lo) * rng.random((n, 4))
    widths = {"stable": [], "naive": []}
    with working_precision(digits=30):
        lam, alpha = backends.constants_function("arb")()
        boxes = [[arb(float(c), 5e-4) for c in row] for row in mids]
        stable, naive = backends.evaluator("arb", NAMES), _naive("arb")

        def run(f: Callable[..., Any], key: str) -> None:
            out = widths[key] = []
            for box in boxes:
                out.append(float(f(*box, lam, alpha)[-1].rad()) * 2)

        t_stable = best_of(lambda: run(stable, "stable"), repeats)
        t_naive = best_of(lambda: run(naive, "naive"), repeats)
        s = _points(min(n, 2000), 2, stress=True).T
        s_stable = [stable(*(arb(float(c)) for c in p), lam, alpha) for p in s]
        s_naive = [naive(*(arb(float(c)) for c in p), lam, alpha) for p in s]
        bad = (sum(not all(v.is_finite() for v in r) for r in s_stable),
               sum(not all(v.is_finite() for v in r) for r in s_naive), len(s))
    row = _row("arb 30 digits (boxes)", n, t_stable, t_naive, bad)
    row["median_width_S_stable"] = float(np.median(widths["stable"]))
    row["median_width_S_naive"] = float(np.median(widths["naive"]))
    return row


def _row(name: str, n: int, t_stable: float, t_naive: float,
         bad: tuple[int, int, int]) -> dict[str, Any]:
    return {"backend": name, "evaluations": n, "stable_per_s": n / t_stable,
            "naive_per_s": n / t_naive, "ratio": t_naive / t_stable,
            "not_finite_stable": bad[0], "not_finite_naive": bad[1], "stress_points": bad[2]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="10^5 points and 10^3 boxes, one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    points, boxes = (10**5, 10**3) if args.quick else (10**6, 10**4)
    repeats = args.repeats or (1 if args.quick else 3)
    rows = [bench_numpy(points, repeats), bench_jax(points, repeats, x64=True),
            bench_jax(points, repeats, x64=False), bench_arb(boxes, repeats)]
    if args.json:
        json.dump({"quick": args.quick, "repeats": repeats, "rows": rows}, sys.stdout)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="moment map g, H, S(H): evaluations per second (stable vs naive)")
    for col in ("backend", "n", "stable /s", "naive /s", "ratio stable/naive",
                "non-finite on stress set (stable / naive)"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["backend"], f"{r['evaluations']:.0e}", f"{r['stable_per_s']:.3g}",
                      f"{r['naive_per_s']:.3g}", f"{r['ratio']:.2f}",
                      f"{r['not_finite_stable']} / {r['not_finite_naive']} "
                      f"of {r['stress_points']}")
    console = Console(width=120)
    console.print(table)
    arb_row = rows[-1]
    console.print(f"arb median width of S(H) over a box: stable "
                  f"{arb_row['median_width_S_stable']:.3g}, naive "
                  f"{arb_row['median_width_S_naive']:.3g}")
    console.print(f"jax devices: {jax.devices()}")


if __name__ == "__main__":
    main()
