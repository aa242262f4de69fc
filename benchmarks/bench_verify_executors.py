"""Benchmark of ``verify-contraction``'s executors: the same claims in this process (the
baseline), on 2 local worker processes, and on a Dask ``LocalCluster`` of 2 worker processes
(1 thread each).

The ratio column is the baseline's seconds over the executor's, measured in the same run.
Every executor is warmed on each claim first (worker start-up and the compilation of the
evaluators are not counted); the 2-process and the 2-thread cluster runs split the same
boxes per round, so their leaves are compared and must be identical.

    python benchmarks/bench_verify_executors.py
"""

from __future__ import annotations

import logging
import time
from fractions import Fraction

from snn_theory.certify.claims import BUILTIN_CLAIMS, THEOREM_DOMAINS, Claim, format_fraction
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.result import ClaimResult
from snn_theory.certify.search.settings import Settings

CLAIMS = (BUILTIN_CLAIMS["theorem1.variance_upper"],
          Claim.parse("J12<0.101", THEOREM_DOMAINS["theorem1"]),
          Claim.parse("J22<0.892", THEOREM_DOMAINS["theorem1"]))
#: Refine to this width after deciding, so that each claim takes a few hundred boxes.
TOLERANCE = Fraction(1, 10**5)


def timed(executor: Executor, claim: Claim) -> tuple[float, ClaimResult]:
    settings = Settings(tolerance=TOLERANCE)
    verify_claim(claim, settings, executor)  # warm-up
    start = time.perf_counter()
    result = verify_claim(claim, settings, executor)
    return time.perf_counter() - start, result


def leaves(result: ClaimResult) -> list:
    return [(leaf.box, leaf.bound, leaf.bits) for leaf in result.leaves]


def main() -> None:
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    rows = []
    with Executor(1) as serial, Executor(2) as local, \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster), \
            Executor(scheduler=cluster.scheduler_address) as dask:
        for claim in CLAIMS:
            base, r1 = timed(serial, claim)
            two, r2 = timed(local, claim)
            remote, r3 = timed(dask, claim)
            assert r1.verdict == r2.verdict == r3.verdict == "holds", claim.name
            assert leaves(r2) == leaves(r3), f"{claim.name}: the executors split differently"
            rows.append((f"{claim.quantity} {claim.relation} {format_fraction(claim.threshold)}",
                         len(r3.leaves), base, two, remote))
    header = (f"{'claim (refined to 1e-5)':24} {'boxes':>6} | {'1 proc s':>8} | "
              f"{'2 procs s':>9} {'ratio':>6} | {'dask 2x1 s':>10} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for name, boxes, base, two, remote in rows:
        print(f"{name:24} {boxes:6d} | {base:8.2f} | {two:9.2f} {base / two:5.2f}x | "
              f"{remote:10.2f} {base / remote:5.2f}x")
    print("leaves of the 2-process and the Dask runs: identical")


if __name__ == "__main__":
    main()
