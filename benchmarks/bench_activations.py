"""Benchmark of the rigorous Gaussian engine and the generic verifier, per activation.

For each built-in activation (parameters for the fixed point (0, 1) at ω = 0, τ = 1, as in
the activation table):

* point enclosures per second: every quantity and the (m, v)-partials up to order 2 at
  random points (m, v) ∈ [−0.2, 0.2] × [0.5, 2] (one ``raw_partials`` call = one enclosure;
  after one untimed call that compiles the activation's pieces);
* box enclosures per second: the same over (m, v) cells of width 1/64 × 1/16 (the cells the
  verifier caches, order 4);
* the wall time of the Theorem 1 analogue (5 claims, ``--jobs`` processes, default 2).

For SELU the generic engine is timed beside the closed-form path in the same run (arb
evaluation of the closed forms at the same points, and the closed-form verifier of
:mod:`snn_theory.certify.search` on Theorem 1's contraction claim beside the generic one on the same
claim): the ratio columns are generic / closed form.

    python benchmarks/bench_activations.py               # all built-ins
    python benchmarks/bench_activations.py --only tanh --only selu --time-limit 30
"""

from __future__ import annotations

import argparse
import random
import time

from flint import arb, ctx

from snn_theory.certify import activation_claims, activation_table
from snn_theory.certify.claims import BUILTIN_CLAIMS
from snn_theory.certify.search.bounders import ClosedFormBounder
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.model_bounders import GaussianBounder
from snn_theory.certify.search.settings import Settings
from snn_theory.certify.search.workers import DEFAULT_PRECISION
from snn_theory.derive import activations
from snn_theory.evaluate import backends, gaussian_moments


def rate(fn, items) -> float:  # noqa: ANN001
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", action="append", default=None)
    parser.add_argument("--points", type=int, default=40)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    names = tuple(args.only) if args.only else activations.NAMES
    ctx.prec = DEFAULT_PRECISION
    rng = random.Random(3)
    points = [(arb(rng.uniform(-0.2, 0.2)), arb(rng.uniform(0.5, 2))) for _ in range(args.points)]
    boxes = [(arb(m.mid()).union(arb(m.mid()) + arb(1) / 64),
              arb(v.mid()).union(arb(v.mid()) + arb(1) / 16)) for m, v in points[: args.points // 4]]
    print(f"precision {ctx.prec} bits, {args.points} points, {len(boxes)} boxes, "
          f"Theorem 1 analogue with {args.jobs} processes, {args.time_limit:g} s per claim")
    header = ("activation", "points/s", "boxes/s", "thm1 analogue", "wall s", "boxes")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    selu_rates = None
    for name in names:
        act, _ = activation_table.normalized(name)
        # warm-up outside the timing (compiles the pieces), as the closed form's evaluator
        # is built before its timing below
        gaussian_moments.raw_partials(act, *points[0], order=2)
        gaussian_moments.raw_partials(act, *boxes[0], order=4)
        pr = rate(lambda p, act=act: gaussian_moments.raw_partials(act, p[0], p[1], order=2), points)
        br = rate(lambda b, act=act: gaussian_moments.raw_partials(act, b[0], b[1], order=4), boxes)
        started = time.perf_counter()
        # the generic engine for every activation, SELU included (its closed forms below)
        settings = Settings(time_limit=args.time_limit, jobs=args.jobs,
                            bounder=GaussianBounder.of(act))
        with Executor(args.jobs) as executor:
            results = [verify_claim(claim, settings, executor)
                       for claim in activation_claims.theorem1_analogue()]
        wall = time.perf_counter() - started
        verdicts = [r.verdict for r in results]
        verdict = ("refuted" if "refuted" in verdicts else
                   "undecided" if "undecided" in verdicts else "proven")
        print(f"| {name} | {pr:.1f} | {br:.1f} | {verdict} | {wall:.1f} | "
              f"{sum(len(r.leaves) for r in results)} |", flush=True)
        if name == "selu":
            selu_rates = (pr, results[0].seconds)
    if selu_rates is not None:
        lam, alpha = backends.constants_function("arb")()
        closed = backends.evaluator("arb", ("mean", "second_moment", "J11", "J12", "J21", "J22"))
        cr = rate(lambda p: closed(p[0], arb(1), p[1], arb(1), lam, alpha), points)
        claim = BUILTIN_CLAIMS["theorem1.contraction"]
        settings = Settings(grid="coarse", tolerance=__import__("fractions").Fraction(1, 10),
                            jobs=args.jobs, max_boxes=400_000, time_limit=None,
                            bounder=ClosedFormBounder(), state_dir=None,
                            resume=False)
        started = time.perf_counter()
        with Executor(args.jobs) as runner:
            verify_claim(claim, settings, runner)
        closed_wall = time.perf_counter() - started
        print()
        print("SELU, generic engine vs closed forms (same run):")
        print(f"  point enclosures/s: generic {selu_rates[0]:.1f}, closed form {cr:.1f}, "
              f"ratio {cr / selu_rates[0]:.1f}x")
        print(f"  Theorem 1 contraction (S < 1) wall: generic {selu_rates[1]:.1f} s, closed form "
              f"{closed_wall:.1f} s, ratio {selu_rates[1] / closed_wall:.1f}x")


if __name__ == "__main__":
    main()
