"""Benchmark of ``map-domain``: cells per second by executor, and the default paving.

* a fixed paving (ω ∈ [−0.2, 0.2] × τ ∈ [0.9, 1.2], 4 × 4 cells, depth 1: proven,
  refuted and undecided cells) decided with 1 local worker (the baseline), 2 local worker
  processes, and a Dask ``LocalCluster`` of 2 worker processes (1 thread each); the ratio
  column is cells per second over the 1-worker rate measured in the same run, and the
  certificates of the three runs are compared byte for byte;
* the wall time of the default paving (``snn-theory map-domain`` defaults) with 2 local
  workers (``--skip-default`` leaves it out).

Each executor is warmed first on a tiny paving (worker start-up and the compilation of
the evaluators are not counted in the rates).

    python benchmarks/bench_domains.py
"""

from __future__ import annotations

import argparse
import logging
import time
from fractions import Fraction as F

from snn_theory import domains
from snn_theory.commands.map_domain import map_domain_command


def spec(**overrides: object) -> domains.PavingSpec:
    args = dict(mu=(F(-1, 10), F(1, 10)), nu=(F(8, 10), F(15, 10)),
                omega=(F(-2, 10), F(2, 10)), tau=(F(9, 10), F(12, 10)), cells=4, depth=1,
                max_boxes=200)
    args.update(overrides)
    return domains.PavingSpec(**args)  # type: ignore[arg-type]


WARM = dict(omega=(F(0), F(1, 10)), tau=(F(85, 100), F(95, 100)), cells=1, depth=0,
            max_boxes=64)


def timed(**kwargs: object) -> tuple[float, domains.Paving]:
    domains.map_domain(spec(**WARM), **kwargs)  # type: ignore[arg-type]
    start = time.perf_counter()
    paving = domains.map_domain(spec(), **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - start, paving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-default", action="store_true")
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    rows = []
    base_time, base = timed(jobs=1)
    cells = base.evaluated
    reference = domains.certificate_content(base)
    rows.append(("local, 1 worker (baseline)", base_time, True))
    two_time, two = timed(jobs=2)
    rows.append(("local, 2 worker processes", two_time,
                 domains.certificate_content(two) == reference))
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        dask_time, dask = timed(scheduler=cluster.scheduler_address)
    rows.append(("Dask LocalCluster, 2 workers", dask_time,
                 domains.certificate_content(dask) == reference))
    s = base.summary()
    print(f"paving: {cells} cells decided ({s['cells']} final: {s['proven']} proven, "
          f"{s['refuted']} refuted, {s['undecided']} undecided)")
    print(f"{'executor':32} {'seconds':>8} {'cells/s':>8} {'ratio':>6}  identical certificate")
    for name, seconds, same in rows:
        print(f"{name:32} {seconds:8.2f} {cells / seconds:8.2f} {base_time / seconds:6.2f}  "
              f"{'yes' if same else 'NO'}")
    if not args.skip_default:
        defaults = {p.name: p.default for p in map_domain_command.params}
        default = domains.PavingSpec(
            domains.parse_range(defaults["mu_range"], "mu"),
            domains.parse_range(defaults["nu_range"], "nu"),
            domains.parse_range(defaults["omega_range"], "omega"),
            domains.parse_range(defaults["tau_range"], "tau"), cells=defaults["cells"],
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
