"""Training that keeps the theorem true: what the certified constraint costs, in time and in
accuracy, and whether it keeps the activations at the fixed point.

    python benchmarks/bench_constrained.py             # reduced study (2 shared cores: minutes)
    python benchmarks/bench_constrained.py --full      # 4 data sets x depths 8, 16, 32 x 5 seeds
    python benchmarks/bench_constrained.py --quick     # smoke run
    python benchmarks/bench_constrained.py --out constrained.json   # then: snn-theory plot constrained

**Time** (same run, digits, SELU, depth 16, width 64, compiled beforehand, interleaved, best of 5): the bare
jitted epoch with Adam against the same epoch with Adam followed by the theorem1 projection of
every hidden row (goal: ≤ 1.5×), and the seconds per epoch of the exact inside-fraction
measurement (rationals from the float32 weights; done for every variant).

**Study**: per data set, depth and variant — SELU unconstrained, SELU + max-norm (Σw² ≤ 1.1),
SELU + theorem1, SELU + domain-map (the largest certified rectangle of the committed paving,
re-checked), ReLU + batch norm — and seed: test accuracy, the last hidden layer's pooled
(μ, ν) on the held-out batch at the end (the fixed point of g at ω = 0, τ = 1 is (0, 1): λ01,
α01 are certified to make it so), and the smallest per-layer fraction of hidden units whose
exact (ω_i, τ_i) lies in the run's region (Theorem 1's rectangle for the unconstrained
variants).  One learning rate (Adam 1e-3), dropout 0.05, LeCun init: no grid, no selection.
Everything but the inside fraction is float32 evidence.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from _timing import best_of

from snn_theory.simulate.network import train
from snn_theory.simulate.training import TrainConfig, load_split

#: (label, variant, constraint)
VARIANTS: tuple[tuple[str, str, str], ...] = (
    ("selu", "selu", "none"), ("selu+max-norm", "selu", "max-norm"),
    ("selu+theorem1", "selu", "theorem1"), ("selu+domain-map", "selu", "domain-map"),
    ("relu-bn", "relu-bn", "none"))

STUDIES = {
    "quick": dict(datasets=("iris",), depths=(8,), width=16, seeds=1, epochs=5),
    "reduced": dict(datasets=("wine", "digits"), depths=(8, 32), width=32, seeds=1, epochs=10),
    "full": dict(datasets=("digits", "breast-cancer", "wine", "iris"), depths=(8, 16, 32),
                 width=64, seeds=5, epochs=20),
}


def run_study(spec: dict, progress=None) -> list[dict]:
    rows = []
    total = len(spec["datasets"]) * len(spec["depths"]) * len(VARIANTS) * spec["seeds"]
    for dataset in spec["datasets"]:
        split = load_split(dataset, 0)
        for depth in spec["depths"]:
            for label, variant, constraint in VARIANTS:
                for seed in range(spec["seeds"]):
                    config = TrainConfig(dataset=dataset, variant=variant, depth=depth,
                                         width=spec["width"], epochs=spec["epochs"],
                                         batch_size=32, seed=seed, constraint=constraint)
                    r = train(config, split=split)
                    rows.append({"dataset": dataset, "depth": depth, "variant": label,
                                 "seed": seed, "test_accuracy": float(r.test_accuracy[-1]),
                                 "mu_end": float(r.act_mean[-1, -1]),
                                 "nu_end": float(r.act_var[-1, -1]),
                                 "mu_by_layer": r.act_mean[-1].tolist(),
                                 "nu_by_layer": r.act_var[-1].tolist(),
                                 "inside_min": float(r.inside_fraction.min()),
                                 "inside_end": float(r.inside_fraction[-1].mean()),
                                 "diverged": r.diverged, "seconds": r.seconds})
                    if progress:
                        progress(len(rows), total, f"{dataset} depth {depth} {label}")
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean (and spread over seeds) per data set, depth and variant."""
    out = []
    keys = sorted({(r["dataset"], r["depth"], r["variant"]) for r in rows},
                  key=lambda k: (k[0], k[1], [v[0] for v in VARIANTS].index(k[2])))
    for key in keys:
        group = [r for r in rows if (r["dataset"], r["depth"], r["variant"]) == key]
        acc = [r["test_accuracy"] for r in group]
        out.append({"dataset": key[0], "depth": key[1], "variant": key[2],
                    "seeds": len(group), "test_mean": statistics.fmean(acc),
                    "test_std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                    "mu_end": statistics.fmean(r["mu_end"] for r in group),
                    "nu_end": statistics.fmean(r["nu_end"] for r in group),
                    "inside_min": min(r["inside_min"] for r in group),
                    "diverged": sum(r["diverged"] for r in group)})
    return out


def epoch_cost(repeats: int = 5, epochs: int = 3) -> dict:
    """Seconds of ``epochs`` bare jitted epochs (digits, SELU, depth 16, width 64) without
    and with the theorem1 projection, and of one exact inside-fraction measurement."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    from snn_theory.certify.weight_regions import inside_fractions
    from snn_theory.simulate import network as tn
    from snn_theory.simulate.constrained import constrain_model, constrained_optimizer
    from snn_theory.simulate.training import selu_constants

    config = TrainConfig(dataset="digits", variant="selu", depth=16, width=64)
    split = load_split("digits", 0)
    model0, state = tn.build_network(config, split)
    hyper = tn.hyper_parameters(config, selu_constants(config.dropout_rate))
    n = len(split.y_train)
    steps = n // config.batch_size
    order = jnp.asarray(np.arange(steps * config.batch_size).reshape(steps, -1), jnp.int32)
    x, y = jnp.asarray(split.x_train), jnp.asarray(split.y_train)
    out = {"epochs": epochs, "steps_per_epoch": steps, "config": "digits selu depth 16 "
           "width 64 batch 64 adam"}
    runs = {}
    for constraint in ("none", "theorem1"):
        region, model = constrain_model(model0, constraint)
        opt = constrained_optimizer(tn.optimizer_for("adam"), constraint)
        opt_state = opt.init(eqx.filter(model, eqx.is_inexact_array))

        def run(model=model, opt=opt, opt_state=opt_state) -> None:
            m, s, o = model, state, opt_state
            for _ in range(epochs):
                m, s, o, losses, _ = tn.run_epoch(m, s, o, jax.random.key(0), x, y, order,
                                                  hyper, opt)
            jax.block_until_ready(losses)

        run()  # compile
        runs[constraint] = run
    # interleaved, best of each (the machine is shared: both see the same load)
    best = {"none": float("inf"), "theorem1": float("inf")}
    for _ in range(repeats):
        for constraint, run in runs.items():
            best[constraint] = min(best[constraint], best_of(run, 1))
    out["none_s"], out["theorem1_s"] = best["none"], best["theorem1"]
    out["ratio"] = out["theorem1_s"] / out["none_s"]
    hidden = [np.asarray(layer.weight) for layer in model0.hidden]
    out["exact_inside_s"] = best_of(lambda: inside_fractions(hidden, region), repeats)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke run")
    size.add_argument("--full", action="store_true", help="4 data sets, depths 8/16/32, 5 seeds")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--out", default=None, help="also write the JSON to FILE (new file)")
    parser.add_argument("--no-timing", action="store_true", help="skip the epoch timing")
    args = parser.parse_args()
    name = "quick" if args.quick else "full" if args.full else "reduced"
    spec = STUDIES[name]
    if args.out:
        from pathlib import Path

        if Path(args.out).exists():
            sys.exit(f"bench_constrained: --out {args.out} exists (nothing is overwritten)")
    t0 = time.perf_counter()

    def progress(done: int, total: int, what: str) -> None:
        if not args.json:
            print(f"  [{done}/{total}] {what}", file=sys.stderr, flush=True)

    cost = None if args.no_timing else epoch_cost()
    rows = run_study(spec, progress)
    out = {"study": name, "spec": spec, "timing": cost, "summary": summarise(rows),
           "runs": rows, "seconds": time.perf_counter() - t0,
           "command": "python benchmarks/bench_constrained.py" + ("" if name == "reduced"
                                                                  else f" --{name}")}
    if args.out:
        from snn_theory.files import atomic_write

        atomic_write(args.out, json.dumps(out))
    if args.json:
        print(json.dumps(out))
        return
    if cost:
        print(f"epoch cost ({cost['config']}, {cost['epochs']} epochs, best of 5): "
              f"unconstrained {cost['none_s']:.3f} s, theorem1 {cost['theorem1_s']:.3f} s, "
              f"ratio {cost['ratio']:.2f}x (goal <= 1.5x); exact inside fraction of 16 layers "
              f"{cost['exact_inside_s']:.3f} s")
    print(f"{'data set':14} {'depth':>5} {'variant':16} {'test acc':>14} {'last (mu, nu)':>16} "
          f"{'inside (min)':>12}")
    for c in out["summary"]:
        print(f"{c['dataset']:14} {c['depth']:5d} {c['variant']:16} "
              f"{c['test_mean']:8.3f}±{c['test_std']:.3f} "
              f"({c['mu_end']:6.2f}, {c['nu_end']:5.2f}) {c['inside_min']:12.3f}")
    print(f"{len(rows)} runs, {out['seconds']:.0f} s wall ({out['command']}); accuracies and "
          "(mu, nu) are float32 measurements; the inside fraction is exact")


if __name__ == "__main__":
    main()
