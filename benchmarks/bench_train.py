"""A small honest benchmark of the SNN claim: test accuracy of every variant on every bundled
data set at two depths, mean ± std over seeds, with the same hyper-parameter grid for all.

    python benchmarks/bench_train.py            # reduced study (see --help for its size)
    python benchmarks/bench_train.py --full     # the larger study
    python benchmarks/bench_train.py --quick    # a smoke run (one data set, 2 seeds)
    python benchmarks/bench_train.py --json --out study.json

Protocol (:mod:`snn_theory.simulate.training`): for each data set, depth and variant, every point of the
grid (learning rate × dropout rate, Adam) is trained with each seed; the grid point with the
best *validation* accuracy at the last epoch (mean over seeds) is selected and its *test*
accuracy reported as mean ± standard deviation over the seeds (the split is fixed,
``split_seed`` 0, so the spread is over initialisation, minibatch order and dropout).  The
report says, for each data set and depth, which variant has the best mean test accuracy and
where SELU loses (a variant's mean above SELU's).  For SELU it also reports the fraction of
hidden units whose (ω_i, τ_i) lies in Theorem 1's rectangle at the end, and the last hidden
layer's held-out variance.

Timing (the benchmark convention of this directory): the wall time of the study, and, measured
in the same run on digits, the time of a recorded epoch against the bare jitted epoch (the
same compiled ``lax.scan`` without the evaluation and weight statistics): the cost of the
records.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import time
from dataclasses import replace

from snn_theory.simulate.network import train
from snn_theory.simulate.training import DATASETS, VARIANTS, TrainConfig, load_split

STUDIES = {
    "quick": dict(datasets=("wine",), depths=(4, 8), width=16, seeds=2, lrs=(1e-3, 1e-2),
                  dropouts=(0.05,), epochs=10, batch_size=32),
    "reduced": dict(datasets=DATASETS, depths=(4, 16), width=32, seeds=5, lrs=(1e-3, 1e-2),
                    dropouts=(0.05,), epochs=20, batch_size=32),
    "full": dict(datasets=DATASETS, depths=(8, 32), width=64, seeds=10,
                 lrs=(1e-4, 1e-3, 1e-2), dropouts=(0.0, 0.05), epochs=40, batch_size=32),
}


def run_study(spec: dict, progress=None) -> dict:
    """Every run of the study; the selected grid point and its test accuracy per cell."""
    cells = []
    grid = list(itertools.product(spec["lrs"], spec["dropouts"]))
    total = (len(spec["datasets"]) * len(spec["depths"]) * len(VARIANTS) * len(grid)
             * spec["seeds"])
    done = 0
    for dataset in spec["datasets"]:
        split = load_split(dataset, 0)
        for depth in spec["depths"]:
            for variant in VARIANTS:
                points = []
                for lr, rate in grid:
                    base = TrainConfig(dataset=dataset, variant=variant, depth=depth,
                                       width=spec["width"], epochs=spec["epochs"],
                                       batch_size=spec["batch_size"], learning_rate=lr,
                                       dropout_rate=rate)
                    runs = []
                    for seed in range(spec["seeds"]):
                        r = train(replace(base, seed=seed), split=split)
                        runs.append({"seed": seed, "val": float(r.val_accuracy[-1]),
                                     "test": float(r.test_accuracy[-1]),
                                     "diverged": r.diverged,
                                     "in_region_end": float(r.in_region[-1].mean()),
                                     "last_nu_end": float(r.act_var[-1, -1])})
                        done += 1
                        if progress:
                            progress(done, total, f"{dataset} depth {depth} {variant}")
                    val = [x["val"] for x in runs]
                    points.append({"lr": lr, "dropout": rate, "runs": runs,
                                   "val_mean": statistics.fmean(val)})
                best = max(points, key=lambda p: p["val_mean"])
                test = [x["test"] for x in best["runs"]]
                cells.append({
                    "dataset": dataset, "depth": depth, "variant": variant,
                    "lr": best["lr"], "dropout": best["dropout"],
                    "val_mean": best["val_mean"], "test_mean": statistics.fmean(test),
                    "test_std": statistics.stdev(test) if len(test) > 1 else 0.0,
                    "diverged": sum(x["diverged"] for x in best["runs"]),
                    "in_region_end": statistics.fmean(x["in_region_end"] for x in best["runs"]),
                    "last_nu_end": statistics.median(x["last_nu_end"] for x in best["runs"]),
                    "grid": points,
                })
    return {"cells": cells}


def verdicts(cells: list[dict]) -> list[dict]:
    """Per (data set, depth): the best variant by mean test accuracy, SELU's rank, and the
    variants whose mean beats SELU's."""
    out = []
    for (dataset, depth), group in itertools.groupby(
            cells, key=lambda c: (c["dataset"], c["depth"])):
        group = sorted(group, key=lambda c: -c["test_mean"])
        selu = next(c for c in group if c["variant"] == "selu")
        out.append({"dataset": dataset, "depth": depth, "best": group[0]["variant"],
                    "best_test_mean": group[0]["test_mean"],
                    "selu_rank": 1 + [c["variant"] for c in group].index("selu"),
                    "beat_selu": [c["variant"] for c in group
                                  if c["test_mean"] > selu["test_mean"]]})
    return out


def record_overhead(repeats: int = 3) -> dict:
    """Seconds per epoch of :func:`train` (with the records) against the bare jitted epoch,
    digits, selu, depth 16, width 64 (compiled beforehand)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    from snn_theory.simulate import network as tn
    from snn_theory.simulate.training import selu_constants

    config = TrainConfig(dataset="digits", variant="selu", depth=16, width=64, epochs=5)
    train(config)  # compile
    best_train = min(_timed(lambda: train(config)) for _ in range(repeats))
    split = load_split("digits", 0)
    model, state = tn.build_network(config, split)
    hyper = tn.hyper_parameters(config, selu_constants(config.dropout_rate))
    opt = tn.optimizer_for(config.optimizer)
    opt_state = opt.init(eqx.filter(model, eqx.is_inexact_array))
    n = len(split.y_train)
    steps = n // config.batch_size
    order = jnp.asarray(np.arange(steps * config.batch_size).reshape(steps, -1), jnp.int32)
    x, y = jnp.asarray(split.x_train), jnp.asarray(split.y_train)

    def bare() -> None:
        m, s, o = model, state, opt_state
        for _ in range(config.epochs):
            m, s, o, losses, _ = tn.run_epoch(m, s, o, jax.random.key(0), x, y, order, hyper,
                                              opt)
        jax.block_until_ready(losses)

    bare()
    best_bare = min(_timed(bare) for _ in range(repeats))
    return {"epochs": config.epochs, "train_s": best_train, "bare_epochs_s": best_bare,
            "ratio": best_train / best_bare}


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke run")
    size.add_argument("--full", action="store_true", help="the larger study")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--out", default=None, help="also write the JSON to FILE")
    parser.add_argument("--no-overhead", action="store_true",
                        help="skip the record-overhead timing")
    args = parser.parse_args()
    name = "quick" if args.quick else "full" if args.full else "reduced"
    spec = STUDIES[name]
    t0 = time.perf_counter()
    show = sys.stderr.isatty() and not args.json
    if show:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True),
                      transient=True) as bar:
            task = bar.add_task("runs", total=None)
            result = run_study(spec, lambda d, t, what: bar.update(
                task, completed=d, total=t, description=escape(what)))
    else:
        result = run_study(spec)
    wall = time.perf_counter() - t0
    overhead = None if args.no_overhead else record_overhead()
    out = {"study": name, "spec": {k: list(v) if isinstance(v, tuple) else v
                                   for k, v in spec.items()},
           "wall_s": wall, "verdicts": verdicts(result["cells"]), "overhead": overhead,
           **result}
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh)
    if args.json:
        print(json.dumps(out))
        return
    _print(out)


def _print(out: dict) -> None:
    spec = out["spec"]
    print(f"study {out['study']}: data sets {', '.join(spec['datasets'])}; depths "
          f"{spec['depths']}; width {spec['width']}; {spec['seeds']} seeds; grid lr "
          f"{spec['lrs']} × dropout {spec['dropouts']} (Adam, {spec['epochs']} epochs, batch "
          f"{spec['batch_size']}); selection by mean validation accuracy; test accuracy "
          "mean ± std over seeds")
    print(f"{'data set':<14}{'depth':>6}  " + "".join(f"{v:>17}" for v in VARIANTS)
          + "   best")
    cells = {(c["dataset"], c["depth"], c["variant"]): c for c in out["cells"]}
    for v in out["verdicts"]:
        row = f"{v['dataset']:<14}{v['depth']:>6}  "
        for variant in VARIANTS:
            c = cells[(v["dataset"], v["depth"], variant)]
            mark = "*" if c["diverged"] else " "
            row += f"{c['test_mean']:>9.3f} ± {c['test_std']:.3f}{mark}"[-17:].rjust(17)
        row += f"   {v['best']}"
        print(row)
    print("(* = some seeds diverged at the selected grid point)")
    print("selected grid points (lr, dropout): " + "; ".join(
        f"{c['dataset']}/{c['depth']}/{c['variant']}: {c['lr']:g}, {c['dropout']:g}"
        for c in out["cells"]))
    losses = [f"{v['dataset']} depth {v['depth']} (beaten by {', '.join(v['beat_selu'])})"
              for v in out["verdicts"] if v["beat_selu"]]
    wins = sum(1 for v in out["verdicts"] if v["best"] == "selu")
    print(f"SELU best in {wins} of {len(out['verdicts'])} (data set, depth) cells; SELU loses: "
          + ("; ".join(losses) if losses else "nowhere"))
    selu = [c for c in out["cells"] if c["variant"] == "selu"]
    print("SELU at the end: hidden units in Theorem 1's (ω, τ) rectangle "
          + ", ".join(f"{c['dataset']}/{c['depth']}: {100 * c['in_region_end']:.0f}%"
                      for c in selu)
          + "; median last-layer held-out ν "
          + ", ".join(f"{c['dataset']}/{c['depth']}: {c['last_nu_end']:.2f}" for c in selu))
    print(f"wall time {out['wall_s']:.0f} s")
    o = out["overhead"]
    if o:
        print(f"records: train() {o['train_s']:.3f} s vs bare jitted epochs "
              f"{o['bare_epochs_s']:.3f} s for {o['epochs']} epochs (digits, selu, depth 16, "
              f"width 64): ratio {o['ratio']:.2f}")
    if not math.isfinite(out["wall_s"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
