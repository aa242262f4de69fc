"""Benchmark of ``verify-contraction``'s search: decide first vs the former enclose-first order.

Three tables, every ratio measured against a baseline run in the same process:

1. **Built-in claims** (``--grid coarse``): the former strategy ("enclose": refine the
   extremum to 1e-6, then decide — what ``verify-contraction`` did by default) beside the
   new default (decide only) and the new strategy asked for the same 1e-6 enclosure.
2. **Wide-margin claims on Theorem 1's Ω** (e.g. ``spectral_norm<5``): boxes and seconds,
   new default vs the former strategy.
3. **The wide-domain claim** ``spectral_norm<5`` on μ, ω ∈ [−1, 1], ν ∈ [0.5, 3],
   τ ∈ [0.5, 2] (true max S ≈ 2.12): the new default, beside the former strategy given
   ``--baseline-limit`` seconds (it never finished in 10 minutes; a ">" marks a lower bound).

``--naive`` adds, per built-in claim, plain bisection with naive interval evaluation
(widest side first, no gradient, no monotonicity, no centred form) for reference.

    python benchmarks/bench_verify.py --jobs 2               # all three tables
    python benchmarks/bench_verify.py --quick --jobs 2       # three cheap claims, 20 s limit
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from fractions import Fraction

from flint import ctx

from snn_theory.certify import enclosure
from snn_theory.certify.claims import BUILTIN_CLAIMS, THEOREM_DOMAINS, Claim, Domain
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.settings import Settings, initial_grid
from snn_theory.certify.search.workers import DEFAULT_PRECISION
from snn_theory.evaluate import backends

QUICK = ("theorem1.variance_upper", "theorem2.variance_decreases", "theorem3a.variance_increases")


def baseline(claim: Claim, budget: int) -> tuple[bool, int, float]:
    """Plain bisection with naive interval evaluation; returns (decided, leaves, seconds)."""
    ctx.prec = DEFAULT_PRECISION
    lam, alpha = backends.constants_function("arb")()
    f = backends.evaluator("arb", (claim.quantity,))
    widths = [hi - lo for lo, hi in claim.domain.bounds]
    side = 1 if claim.kind == "max" else -1
    stack = initial_grid(claim, 2)
    leaves = evaluated = 0
    started = time.perf_counter()
    while stack:
        box = stack.pop()
        evaluated += 1
        value = f(*[enclosure.interval_ball(lo, hi) for lo, hi in box], lam, alpha)[0]
        decided = False
        if value.is_finite():
            end = enclosure.upper(value) if side > 0 else enclosure.lower(value)
            decided = claim.satisfied_by(end)
        if decided:
            leaves += 1
            continue
        if evaluated >= budget:
            return False, leaves + len(stack) + 1, time.perf_counter() - started
        i = max(range(4), key=lambda k: (box[k][1] - box[k][0]) / widths[k])
        lo, hi = box[i]
        mid = (lo + hi) / 2
        left, right = list(box), list(box)
        left[i], right[i] = (lo, mid), (mid, hi)
        stack += [left, right]
    return True, leaves, time.perf_counter() - started


WIDE_MARGIN = ("spectral_norm<5", "spectral_norm<2", "variance<=3", "mean>=-1",
               "variance_change<1")
WIDE_DOMAIN = "mu=-1:1,omega=-1:1,nu=0.5:3,tau=0.5:2"


def _run(claim: Claim, runner: Executor, jobs: int, **kw) -> tuple[str, int, float, str]:
    result = verify_claim(claim, Settings(grid="coarse", jobs=jobs, **kw), runner)
    return result.verdict, len(result.leaves), result.seconds, result.reason


def _ratio(old: float, new: float, mark: str = "") -> str:
    return f"{mark}{old / max(new, 1e-9):.1f}x"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three cheap claims, 20 s limit")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--naive", action="store_true", help="add the naive-bisection column")
    parser.add_argument("--budget", type=int, default=20000, help="naive bisection box budget")
    parser.add_argument("--baseline-limit", type=float, default=None,
                        help="seconds for the former strategy on the wide domain (default 120, "
                             "--quick 20)")
    args = parser.parse_args(argv)
    names = QUICK if args.quick else tuple(BUILTIN_CLAIMS)
    limit = args.baseline_limit or (20.0 if args.quick else 120.0)
    tol = Fraction(1, 10**6)
    wall = time.perf_counter()
    print(f"jobs={args.jobs}; 'former' = enclose-first to 1e-6, as verify-contraction did")
    header = (f"{'built-in claim':30} {'verdict':8} | {'former':>6} {'sec':>6} | "
              f"{'decide':>6} {'sec':>6} {'ratio':>6} | {'+1e-6':>6} {'sec':>6} {'ratio':>6}"
              + (f" | {'naive':>7} {'sec':>6}" if args.naive else ""))
    print(header)
    print("-" * len(header))
    totals = [0.0, 0.0, 0.0]
    with Executor(args.jobs) as runner:
        for name in names:
            claim = BUILTIN_CLAIMS[name]
            old = _run(claim, runner, args.jobs, strategy="enclose", tolerance=tol)
            new = _run(claim, runner, args.jobs)
            ref = _run(claim, runner, args.jobs, tolerance=tol)
            assert old[0] == new[0] == ref[0], (name, old, new, ref)
            for k, r in enumerate((old, new, ref)):
                totals[k] += r[2]
            line = (f"{name:30} {new[0]:8} | {old[1]:6d} {old[2]:6.2f} | {new[1]:6d} "
                    f"{new[2]:6.2f} {_ratio(old[2], new[2]):>6} | {ref[1]:6d} {ref[2]:6.2f} "
                    f"{_ratio(old[2], ref[2]):>6}")
            if args.naive:
                done, b_leaves, b_sec = baseline(claim, args.budget)
                line += f" | {('' if done else '>') + str(b_leaves):>7} {b_sec:6.2f}"
            print(line, flush=True)
        print(f"{'total seconds':30} {'':8} | {'':6} {totals[0]:6.2f} | {'':6} {totals[1]:6.2f} "
              f"{_ratio(totals[0], totals[1]):>6} | {'':6} {totals[2]:6.2f} "
              f"{_ratio(totals[0], totals[2]):>6}")

        print()
        header = (f"{'wide-margin claim on Omega':30} {'verdict':8} | {'former':>6} {'sec':>6} | "
                  f"{'decide':>6} {'sec':>6} {'ratio':>6}")
        print(header)
        print("-" * len(header))
        omega = THEOREM_DOMAINS["theorem1"]
        for text in (WIDE_MARGIN[:2] if args.quick else WIDE_MARGIN):
            claim = Claim.parse(text, omega)
            old = _run(claim, runner, args.jobs, strategy="enclose", tolerance=tol)
            new = _run(claim, runner, args.jobs)
            print(f"{text:30} {new[0]:8} | {old[1]:6d} {old[2]:6.2f} | {new[1]:6d} {new[2]:6.2f} "
                  f"{_ratio(old[2], new[2]):>6}", flush=True)

        print()
        claim = Claim.parse("spectral_norm<5", Domain.parse(WIDE_DOMAIN))
        print(f"wide domain {WIDE_DOMAIN}: spectral_norm<5")
        new = _run(claim, runner, args.jobs)
        print(f"  decide (new default): {new[0]} with {new[1]} boxes in {new[2]:.2f} s "
              f"(target: under 60 s on 2 cores)", flush=True)
        old = _run(claim, runner, args.jobs, strategy="enclose", tolerance=tol, time_limit=limit)
        mark = ">" if old[3] else ""  # stopped by the time limit: a lower bound
        print(f"  former (enclose to 1e-6): {old[0]} after {old[1]} boxes, {mark}{old[2]:.2f} s"
              f"{' (' + old[3] + ')' if old[3] else ''}; ratio {_ratio(old[2], new[2], mark)}")
    print(f"wall {time.perf_counter() - wall:.1f} s")
    sys.exit(0)


if __name__ == "__main__":
    main()
