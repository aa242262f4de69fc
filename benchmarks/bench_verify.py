"""Benchmark of ``verify-contraction``'s search against plain bisection with naive intervals.

For each built-in claim (``--grid coarse``) it reports the leaf boxes and seconds of the
branch-and-bound of :mod:`snn_theory.verify`, beside a baseline measured in the same run:
plain bisection (widest side relative to the domain, depth first) with *naive* interval
evaluation — ``backends.evaluator("arb", (q,))`` on the box balls, no gradient, no
monotonicity, no centred form — given a budget of evaluated boxes.  The ratio columns are
baseline / ours; when the baseline runs out of budget its figures are lower bounds (">").
"ours" also refines the extremum enclosure to --tolerance; the baseline only proves the
claim, so the "claim only" columns run ours with an unbounded tolerance (stop as soon as
every box proves the claim) for a like-for-like comparison.

    python benchmarks/bench_verify.py            # all claims, baseline budget 20000 boxes
    python benchmarks/bench_verify.py --quick    # three cheap claims, budget 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from fractions import Fraction

from flint import ctx

from snn_theory import backends, enclosure
from snn_theory.claims import BUILTIN_CLAIMS, Claim
from snn_theory.verify import DEFAULT_PRECISION, Runner, Settings, initial_grid, verify_claim

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three cheap claims, small budget")
    parser.add_argument("--budget", type=int, default=None, help="baseline box budget")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tolerance", default="1e-6")
    args = parser.parse_args(argv)
    names = QUICK if args.quick else tuple(BUILTIN_CLAIMS)
    budget = args.budget or (2000 if args.quick else 20000)
    settings = Settings(grid="coarse", jobs=args.jobs, tolerance=Fraction(args.tolerance))
    claim_only = Settings(grid="coarse", jobs=args.jobs, tolerance=Fraction(10**12))
    header = (f"{'claim':30} {'verdict':8} {'boxes':>6} {'sec':>6} | claim only: {'boxes':>6} "
              f"{'sec':>6} | {'baseline':>8} {'sec':>6} | ratio vs claim only: "
              f"{'boxes':>7} {'time':>7}")
    print(f"jobs={args.jobs}  baseline budget={budget} boxes  tolerance={args.tolerance}")
    print(header)
    print("-" * len(header))
    total_boxes = 0
    wall = time.perf_counter()
    with Runner(args.jobs) as runner:
        for name in names:
            claim = BUILTIN_CLAIMS[name]
            result = verify_claim(claim, settings, runner)
            total_boxes += len(result.leaves)
            quick = verify_claim(claim, claim_only, runner)
            done, b_leaves, b_sec = baseline(claim, budget)
            mark = "" if done else ">"
            ratio_boxes = b_leaves / max(1, len(quick.leaves))
            ratio_time = b_sec / max(quick.seconds, 1e-9)
            b_text = f"{mark}{b_leaves}"
            print(f"{name:30} {result.verdict:8} {len(result.leaves):6d} {result.seconds:6.2f} | "
                  f"{'':12}{len(quick.leaves):6d} {quick.seconds:6.2f} | {b_text:>8} "
                  f"{b_sec:6.2f} | {'':21}{mark + f'{ratio_boxes:.1f}x':>7} "
                  f"{mark + f'{ratio_time:.1f}x':>7}", flush=True)
    print(f"total (ours): {total_boxes} leaf boxes; {time.perf_counter() - wall:.1f} s wall "
          "including the baseline runs")
    sys.exit(0)


if __name__ == "__main__":
    main()
