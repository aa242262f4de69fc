"""Seconds to certify the SELU constants at 50, 1000 and 10000 digits).

    python benchmarks/bench_constants.py            # 50, 1000, 10000 digits, 3 repeats
    python benchmarks/bench_constants.py --quick    # 50 and 1000 digits, 1 repeat

For each digit count: ``certify`` = :func:`snn_theory.certify.constants.solve_constants` for the
default target (root finding + Krawczyk proof + closed-form check + decimal output) and for
the notebook target (mean −0.1, variance 2, ω = τ = 1; no closed form).  Baselines measured
in the same run, at the same precision:

* ``closed form``: evaluating λ01, α01 from their closed forms in arb (the cheapest way to get
  the default constants at all — no proof that they solve the system needed);
* ``findroot``: plain ``mpmath.findroot`` (numerical Jacobian, from a 16-digit start) on the
  notebook system, no certification — what a careful notebook would do.  Skipped above
  1000 digits in quick mode (mpmath's erfc takes seconds per call at 10000 digits).

Ratios are certify / baseline.  Target of the issue: 1000 digits certified in < 1 s on one
core.  Compilation of the formulas (once per process) is excluded by a warm-up call.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import mpmath

from snn_theory.certify.constants import solve_constants
from snn_theory.evaluate import backends
from snn_theory.precision import working_precision

NOTEBOOK = {"mean": "-0.1", "variance": "2", "omega": "1", "tau": "1"}


def best_of(fn: Callable[..., object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def closed_form(digits: int) -> None:
    with working_precision(digits=digits + 10):
        backends.constants_function("arb")()


def plain_findroot(digits: int) -> None:
    with working_precision(digits=digits + 10):
        ev = backends.evaluator("mpmath", ("mean", "variance"))

        def f(lam: mpmath.mpf, alpha: mpmath.mpf) -> list[mpmath.mpf]:
            mean, var = ev(mpmath.mpf("-0.1"), 1, 2, 1, lam, alpha)
            return [mean + mpmath.mpf("0.1"), var - 2]

        mpmath.findroot(f, (mpmath.mpf(1.073851239616046), mpmath.mpf(1.9769021954242014)),
                        verify=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 and 1000 digits, 1 repeat")
    parser.add_argument("--digits", type=int, nargs="*", help="digit counts to run")
    args = parser.parse_args()
    digit_list = args.digits or ([50, 1000] if args.quick else [50, 1000, 10000])
    repeats = 1 if args.quick else 3
    solve_constants(digits=20)  # warm-up: compiles the formulas once
    solve_constants(digits=20, **NOTEBOOK)
    print(f"{'digits':>7} {'certify default':>16} {'closed form':>12} {'ratio':>8} "
          f"{'certify notebook':>17} {'findroot':>10} {'ratio':>8}")
    for d in digit_list:
        t_def = best_of(lambda d=d: solve_constants(digits=d), repeats)
        t_cf = best_of(lambda d=d: closed_form(d), repeats)
        t_nb = best_of(lambda d=d: solve_constants(digits=d, **NOTEBOOK), repeats)
        if d <= 1000 or not args.quick:
            t_fr = best_of(lambda d=d: plain_findroot(d), 1)
            fr, ratio = f"{t_fr:10.3f}", f"{t_nb / t_fr:8.2f}"
        else:
            fr, ratio = f"{'skipped':>10}", f"{'—':>8}"
        print(f"{d:7d} {t_def:16.3f} {t_cf:12.4f} {t_def / t_cf:8.1f} {t_nb:17.3f} {fr} {ratio}",
              flush=True)


if __name__ == "__main__":
    main()
