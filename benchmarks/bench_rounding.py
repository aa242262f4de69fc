"""Seconds for the dtype commands, against baselines measured in the same run.

    python benchmarks/bench_rounding.py            # 3 repeats
    python benchmarks/bench_rounding.py --quick    # 1 repeat

* ``round``: proving the correct rounding of λ, α, α′, a, b (drop rate 0.1) to float64,
  float32, float16 and bfloat16 (:func:`snn_theory.evaluate.dtypes.round_constants`, 20 proofs), against
  the plain numpy/ml_dtypes casts of the float64 values (no proof; may double-round).
* ``impact``: :func:`snn_theory.certify.rounding.rounding_impact` for the bfloat16 constants (certified
  fixed point, S there, Theorem 1's five claims), against the same five claims verified with
  λ01, α01 (what ``verify-contraction --theorem 1`` runs) — the extra cost of asking "what
  does rounding do".

Compilation of the formulas (once per process) is excluded by a warm-up call.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ml_dtypes
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of  # noqa: E402

from snn_theory.certify import rounding  # noqa: E402
from snn_theory.certify.claims import BUILTIN_CLAIMS, THEOREM_GROUPS  # noqa: E402
from snn_theory.certify.constants import solve_constants  # noqa: E402
from snn_theory.certify.search.executors import Executor  # noqa: E402
from snn_theory.certify.search.loop import verify_claim  # noqa: E402
from snn_theory.certify.search.settings import Settings  # noqa: E402
from snn_theory.evaluate import dtypes

CASTS = (np.float64, np.float32, np.float16, ml_dtypes.bfloat16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    repeats = 1 if parser.parse_args().quick else 3
    result = solve_constants(digits=40, dropout_rates=["0.1"])
    floats = [float(x.mid()) for x in dtypes.named_constant_balls(result).values()]

    def prove() -> None:
        dtypes.round_constants(result, dtypes.DTYPE_NAMES)

    def cast() -> None:
        for t in CASTS:
            for x in floats:
                float(np.asarray(x).astype(t))

    def impact() -> None:
        rounding.rounding_impact(rounding.constants_for_dtype("bfloat16"))

    def builtin() -> None:
        with Executor(1) as runner:
            for name in THEOREM_GROUPS["1"]:
                verify_claim(BUILTIN_CLAIMS[name], Settings(), runner)

    impact(), builtin()  # warm-up: compile the evaluators
    rows = [("round (20 proofs)", best_of(prove, repeats), "numpy casts", best_of(cast, repeats)),
            ("impact (bfloat16)", best_of(impact, repeats), "Theorem 1 with λ01, α01",
             best_of(builtin, repeats))]
    print(f"{'task':<20} {'seconds':>9}   {'baseline':<24} {'seconds':>9} {'ratio':>9}")
    for name, t, base, tb in rows:
        print(f"{name:<20} {t:9.4f}   {base:<24} {tb:9.4f} {t / tb:9.2f}")


if __name__ == "__main__":
    main()
