"""Benchmark of a cold start: ``verify-contraction --theorem all --jobs 2`` against ``map``.

Both run as fresh ``snn-theory`` processes (a new interpreter: every import, every compilation
and the worker pool paid again), alternately, ``--repeats`` times each, in the same run; the
best wall time of each and their ratio are printed, with the CPU seconds (user + system, the
process and its workers) beside them, which a loaded machine distorts less than the wall
time.  The certificates go to a temporary folder (never over the committed proofs/).

    python benchmarks/bench_startup.py              # 3 rounds
    python benchmarks/bench_startup.py --quick      # 1 round
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

MAP = ["map", "--mu", "0.1", "--nu", "1.2", "--omega", "0.05", "--tau", "1.02"]
VERIFY = ["verify-contraction", "--theorem", "all", "--jobs", "2"]


def cold_run(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system of the process and its children) and exit
    status of one fresh ``snn-theory ARGS`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "snn_theory.cli.main", *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else max(1, args.repeats)
    best = {"map": [float("inf"), float("inf")], "verify": [float("inf"), float("inf")]}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"map": MAP, "verify": [*VERIFY, "--certificate-dir", tmp]}
        for _ in range(repeats):
            for name, command in runs.items():
                wall, cpu, code = cold_run(command)
                # verify exits 1: Theorem 1's mean_lower bound is the paper's erratum (false)
                if code not in (0, 1):
                    sys.exit(f"snn-theory {' '.join(command)} failed with exit {code}")
                best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cold starts, best of {repeats} (load average {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'command':<52} {'wall s':>8} {'CPU s':>8}")
    print(f"{'snn-theory ' + ' '.join(MAP):<52} {best['map'][0]:>8.2f} {best['map'][1]:>8.2f}")
    print(f"{'snn-theory ' + ' '.join(VERIFY):<52} {best['verify'][0]:>8.2f} "
          f"{best['verify'][1]:>8.2f}")
    print(f"ratio verify / map: wall {best['verify'][0] / best['map'][0]:.2f}x, "
          f"CPU {best['verify'][1] / best['map'][1]:.2f}x (goal: wall ≤ 4x)")


if __name__ == "__main__":
    main()
