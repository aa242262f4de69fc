"""Benchmark: the Theorem 1 analogue for a network against the single-layer claim set.

The speed bar of ``verify-contraction --network``: the Theorem 1 analogue (S < 1 and the
map sends Theorem 1's (μ, ν) box into itself, five claims) for ``dense(selu),
alpha_dropout(0.1)`` within 3× the single-layer SELU Theorem 1 claim set (the five built-in
claims), both decided by the same search in this process (one worker, decide only, the
coarse grid).  Each set is run once cold (imports and first compilations counted) and then
``--repeats`` times; the ratio of the best warm times is the figure, the cold times are
printed beside it.

    python benchmarks/bench_network_verify.py
    python benchmarks/bench_network_verify.py --network "dense(selu), alpha_dropout(0.2)"
"""

from __future__ import annotations

import argparse
import sys
import time

from _timing import best_of

from snn_theory.certify.activation_claims import builtin_claims
from snn_theory.certify.search.bounders import ClosedFormBounder
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.network_bounder import NetworkBounder
from snn_theory.certify.search.settings import Settings

BAR = 3.0


def run(claims: list, bounder: object) -> tuple[list[str], int]:
    verdicts, boxes = [], 0
    for claim in claims:
        result = verify_claim(claim, Settings(jobs=1, bounder=bounder))
        verdicts.append(result.verdict)
        boxes += len(result.leaves)
    return verdicts, boxes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", default="dense(selu), alpha_dropout(0.1)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    network = NetworkBounder.of(args.network)
    single = ClosedFormBounder()
    rows = []
    for label, claims, net in (
            ("single layer, Theorem 1", builtin_claims("1", single), single),
            (f"{network.spelling}, Theorem 1 analogue", builtin_claims("1", network), network)):
        started = time.perf_counter()
        verdicts, boxes = run(claims, net)
        cold = time.perf_counter() - started
        warm = best_of(lambda claims=claims, net=net: run(claims, net), args.repeats)
        rows.append((label, verdicts, boxes, cold, warm))
    for label, verdicts, boxes, cold, warm in rows:
        print(f"{label}: {', '.join(verdicts)}; {boxes} boxes; cold {cold:.2f} s, "
              f"best warm {warm:.2f} s")
    ratio = rows[1][4] / rows[0][4]
    cold_ratio = rows[1][3] / rows[0][3]
    print(f"ratio network / single layer: {ratio:.2f} (warm), {cold_ratio:.2f} (cold); "
          f"bar {BAR:.0f}x: {'met' if ratio <= BAR else 'NOT met'}")
    return 0 if ratio <= BAR else 1


if __name__ == "__main__":
    sys.exit(main())
