"""Benchmark of ``map-domain``: cells per second by executor, and the default paving.

* a fixed paving (ω ∈ [−0.2, 0.2] × τ ∈ [0.9, 1.2], 4 × 4 cells, depth 1: proven,
  refuted and undecided cells) decided with 1 local worker (the baseline), 2 local worker
  processes, and a Dask ``LocalCluster`` of 2 worker processes (1 thread each); the ratio
  column is cells per second over the 1-worker rate measured in the same run, and the
  certificates of the three runs are compared byte for byte;
* the wall time of the default paving (``snn-theory map-domain`` defaults) with 2 local
  workers (``--skip-default`` leaves it out).

Each executor runs in a fresh process (the verifier keeps in-process caches: a run after
another on the same cells would be faster) and is warmed first on a tiny paving elsewhere
in the plane (worker start-up and the compilation of the evaluators are not counted).

    python benchmarks/bench_domains.py
"""

from __future__ import annotations

import argparse
import logging
import time
from fractions import Fraction as F

from snn_theory.certify import domains
from snn_theory.cli.map_domain import map_domain_command


def spec(**overrides: object) -> domains.PavingSpec:
    args = dict(mu=(F(-1, 10), F(1, 10)), nu=(F(8, 10), F(15, 10)),
                omega=(F(-2, 10), F(2, 10)), tau=(F(9, 10), F(12, 10)), cells=4, depth=1,
                max_boxes=200)
    args.update(overrides)
    return domains.PavingSpec(**args)  # type: ignore[arg-type]


#: Warm-up: two proven cells (every evaluator is compiled in every worker that runs one).
WARM = dict(omega=(F(0), F(1, 20)), tau=(F(975, 1000), F(10125, 10000)), cells=2, depth=0,
            max_boxes=200)


def timed(**kwargs: object) -> tuple[float, domains.Paving]:
    domains.map_domain(spec(**WARM), **kwargs)  # type: ignore[arg-type]
    start = time.perf_counter()
    paving = domains.map_domain(spec(), **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - start, paving


def one(kind: str) -> None:
    """Measure one executor in this (fresh) process; prints one JSON line."""
    import hashlib
    import json

    logging.getLogger("distributed").setLevel(logging.ERROR)
    if kind == "dask":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):
            seconds, paving = timed(scheduler=cluster.scheduler_address)
    else:
        domains.precompile()  # the parent compiles once; local workers are forked from it
        seconds, paving = timed(jobs=int(kind[-1]))
    text = json.dumps(domains.certificate_content(paving), sort_keys=True)
    print(json.dumps({"seconds": seconds, "cells": paving.evaluated,
                      "sha": hashlib.sha256(text.encode()).hexdigest(),
                      "summary": paving.summary()}))


def main() -> None:
    import json
    import subprocess
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-default", action="store_true")
    parser.add_argument("--one", choices=("local1", "local2", "dask"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one)
        return
    # each executor in a fresh process, so that no run profits from another's warm caches
    runs = {}
    for kind in ("local1", "local2", "dask"):
        out = subprocess.run([sys.executable, __file__, "--one", kind], capture_output=True,
                             text=True, check=True).stdout
        runs[kind] = json.loads(out.strip().splitlines()[-1])
    base = runs["local1"]
    s = base["summary"]
    cells = base["cells"]
    print(f"paving: {cells} cells decided ({s['cells']} final: {s['proven']} proven, "
          f"{s['refuted']} refuted, {s['undecided']} undecided)")
    print(f"{'executor':32} {'seconds':>8} {'cells/s':>8} {'ratio':>6}  identical certificate")
    names = {"local1": "local, 1 worker (baseline)", "local2": "local, 2 worker processes",
             "dask": "Dask LocalCluster, 2 workers"}
    for kind, r in runs.items():
        print(f"{names[kind]:32} {r['seconds']:8.2f} {r['cells'] / r['seconds']:8.2f} "
              f"{base['seconds'] / r['seconds']:6.2f}  {'yes' if r['sha'] == base['sha'] else 'NO'}")
    if not args.skip_default:
        defaults = {p.name: p.default for p in map_domain_command.params}
        default = domains.PavingSpec(
            domains.parse_range(defaults["mu_range"], "mu"),
            domains.parse_range(defaults["nu_range"], "nu"),
            domains.parse_range(":".join(domains.DEFAULT_REGION["omega"]), "omega"),
            domains.parse_range(":".join(domains.DEFAULT_REGION["tau"]), "tau"),
            cells=defaults["cells"],
            depth=defaults["depth"], max_boxes=defaults["max_boxes"])
        start = time.perf_counter()
        paving = domains.map_domain(default, jobs=2)
        wall = time.perf_counter() - start
        s = paving.summary()
        print(f"default paving (map-domain defaults, 2 local workers): {wall:.1f} s, "
              f"{paving.evaluated} cells decided, {s['cells']} final ({s['proven']} proven, "
              f"{s['refuted']} refuted, {s['undecided']} undecided), largest certified "
              f"rectangle area {s['largest_area']}")


if __name__ == "__main__":
    main()
