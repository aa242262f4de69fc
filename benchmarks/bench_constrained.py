"""Training that keeps the theorem true: what the certified constraint costs, in time and in
accuracy, and whether it keeps the activations at the fixed point.

    python benchmarks/bench_constrained.py             # reduced study (2 shared cores: minutes)
    python benchmarks/bench_constrained.py --full      # 4 data sets x depths 8, 16, 32 x 5 seeds
    python benchmarks/bench_constrained.py --quick     # smoke run
    python benchmarks/bench_constrained.py --timing-only   # the epoch cost alone
    python benchmarks/bench_constrained.py --permuted  # trained rows vs the same rows permuted
    python benchmarks/bench_constrained.py --out constrained.json   # then: snn-theory plot constrained

**Time** (same run, digits, SELU, depth 16, width 64, compiled beforehand, interleaved, best of 5): the bare
jitted epoch with Adam against the same epoch with Adam followed by the theorem1 projection of
every hidden row (goal: ≤ 1.5×), and the seconds of the exact inside-fraction measurement of
16 layers (decided exactly: a rigorous float64 enclosure of each row's sums, rationals only
for the rows it leaves undecided; done for every variant).

**Study**: per data set, depth and variant — SELU unconstrained, SELU + max-norm (Σw² ≤ 1.1),
SELU + theorem1, SELU + domain-map (the largest certified rectangle of the committed paving,
re-checked), ReLU + batch norm — and seed: test accuracy, the last hidden layer's pooled
(μ, ν) on the held-out batch at the end (the fixed point of g at ω = 0, τ = 1 is (0, 1): λ01,
α01 are certified to make it so), the smallest per-layer fraction of hidden units whose
exact (ω_i, τ_i) lies in the run's region (Theorem 1's rectangle for the unconstrained SELU
variants; n/a for ReLU + batch norm: the certified regions are statements about the SELU
moment map, and ReLU's map, positively homogeneous, has no isolated attracting fixed point to
certify), and the backward signal: ‖∂ℓ/∂x_l‖² per hidden layer at the start and the end,
summarised by its geometric-mean growth per layer towards the input, against the certified
χ₁ = τ·E[SELU′(z)²] at the fixed point (:mod:`snn_theory.simulate.study`).  The four SELU
variants × seeds of one data set and depth train as one vmapped program
(:func:`snn_theory.simulate.study.train_stacked`: one compilation; the time is mostly
compilation), ReLU + batch norm × seeds as another.  One learning rate (Adam 1e-3), dropout
0.05, LeCun init, batch 32: no grid, no selection.  Everything but the inside fraction and
χ₁ is float32 evidence.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

from _timing import best_of

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
                 width=32, seeds=5, epochs=20),
}


def certified_chi1() -> dict:
    """χ₁ = τ·E[SELU′(z)²] at the certified fixed point (arb enclosures, printed as their
    midpoint and radius) for ω = 0 and τ = 1, 0.95, 1.1 (Theorem 1's τ range)."""
    from snn_theory.certify.propagation import propagation_point

    out = {}
    for tau in ("1", "0.95", "1.1"):
        p = propagation_point(0, tau)
        out[tau] = {"mid": float(p.chi1.mid()), "rad": float(p.chi1.rad()),
                    "nu_star": float(p.nu_star.mid())}
    return out


def run_study(spec: dict, progress=None, sink=None) -> list[dict]:
    """Per data set and depth: the four SELU variants x seeds as one stacked, vmapped
    training (one compilation), then ReLU + batch norm x seeds likewise."""
    from dataclasses import replace

    from snn_theory.simulate.study import layer_factor, train_stacked

    rows = []
    groups = len(spec["datasets"]) * len(spec["depths"]) * 2
    done = 0
    for dataset in spec["datasets"]:
        split = load_split(dataset, 0)
        for depth in spec["depths"]:
            base = TrainConfig(dataset=dataset, variant="selu", depth=depth,
                               width=spec["width"], epochs=spec["epochs"], batch_size=32)
            selu = [(label, replace(base, variant=variant, constraint=constraint, seed=seed))
                    for label, variant, constraint in VARIANTS if variant == "selu"
                    for seed in range(spec["seeds"])]
            bn = [(label, replace(base, variant=variant, constraint=constraint, seed=seed))
                  for label, variant, constraint in VARIANTS if variant != "selu"
                  for seed in range(spec["seeds"])]
            for group in (selu, bn):
                t0 = time.perf_counter()
                runs = train_stacked([c for _, c in group], split)
                seconds = time.perf_counter() - t0
                for (label, config), r in zip(group, runs, strict=True):
                    certified = config.variant == "selu"
                    rows.append({
                        "dataset": dataset, "depth": depth, "variant": label,
                        "seed": config.seed, "test_accuracy": float(r.test_accuracy[-1]),
                        "mu_end": float(r.act_mean[-1, -1]), "nu_end": float(r.act_var[-1, -1]),
                        "mu_by_layer": r.act_mean[-1].tolist(),
                        "nu_by_layer": r.act_var[-1].tolist(),
                        # the regions are about the SELU map: no meaning for ReLU + BN
                        "inside_min": float(r.inside_fraction.min()) if certified else None,
                        "inside_end": (float(r.inside_fraction[-1].mean()) if certified
                                       else None),
                        "grad_sq_start": r.grad_sq_start.tolist(),
                        "grad_sq_end": r.grad_sq_end.tolist(),
                        "grad_factor_start": layer_factor(r.grad_sq_start),
                        "grad_factor_end": layer_factor(r.grad_sq_end),
                        "diverged": r.diverged, "group_seconds": seconds})
                done += 1
                if progress:
                    progress(done, groups, f"{dataset} depth {depth} "
                             f"{'selu x4' if group is selu else 'relu-bn'} {seconds:.0f} s")
                if sink:
                    sink(rows)
    return rows


def _nanmean(values) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.fmean(finite) if finite else None


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
                    "inside_min": (None if group[0]["inside_min"] is None
                                   else min(r["inside_min"] for r in group)),
                    "grad_factor_start": _nanmean(r["grad_factor_start"] for r in group),
                    "grad_factor_end": _nanmean(r["grad_factor_end"] for r in group),
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


def permuted_rows(datasets=("digits", "breast-cancer"), depth: int = 8, width: int = 32,
                  epochs: int = 20) -> dict:
    """Why the activations leave the fixed point: one theorem1-constrained SELU run (seed 0)
    per data set; the last hidden layer's pooled (μ, ν) on the held-out batch (float64
    forward pass of the stored weights) as trained, and with the entries of every hidden row
    randomly permuted — the same multiset per row, so exactly the same (ω_i, τ_i), still all
    inside the region (measured exactly), but no longer aligned with the data or with each
    other, which is what the mean-field hypothesis of independent Gaussian pre-activations
    assumes."""
    import numpy as np

    from snn_theory.certify.weight_regions import inside_fractions, theorem1_region
    from snn_theory.simulate.network import train

    out = {}
    for dataset in datasets:
        config = TrainConfig(dataset=dataset, variant="selu", depth=depth, width=width,
                             epochs=epochs, batch_size=32, constraint="theorem1")
        r = train(config)
        c = r.constants
        rng = np.random.default_rng(0)
        for label, permute in (("trained", False), ("rows permuted", True)):
            x = np.asarray(r.heldout, np.float64)
            ws = []
            for layer in range(1, depth + 1):
                w = r.weights[f"hidden{layer}.weight"]
                if permute:
                    w = np.stack([row[rng.permutation(row.size)] for row in w])
                ws.append(w)
                z = x @ w.astype(np.float64).T + r.weights[f"hidden{layer}.bias"]
                x = c.lam * np.where(z > 0, z, c.alpha * np.expm1(np.minimum(z, 0.0)))
            out[f"{dataset} {label}"] = {
                "mu_last": float(x.mean()), "nu_last": float(x.var()),
                "inside_min": min(inside_fractions(ws, theorem1_region()))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smoke run")
    size.add_argument("--full", action="store_true", help="4 data sets, depths 8/16/32, 5 seeds")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--out", default=None, help="also write the JSON to FILE (new file)")
    parser.add_argument("--no-timing", action="store_true", help="skip the epoch timing")
    parser.add_argument("--timing-only", action="store_true", help="only the epoch timing")
    parser.add_argument("--permuted", action="store_true",
                        help="only the permuted-rows check (why (mu, nu) leave the fixed point)")
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

    command = "python benchmarks/bench_constrained.py" + ("" if name == "reduced"
                                                          else f" --{name}")
    if args.permuted:
        check = permuted_rows()
        for key, v in check.items():
            print(json.dumps({key: v}) if args.json else
                  f"{key:30} last layer (mu, nu) = ({v['mu_last']:.3f}, {v['nu_last']:.3f}), "
                  f"inside (exact, min over layers) {v['inside_min']:.3f}")
        return
    cost = None if args.no_timing else epoch_cost()
    if args.timing_only:
        print(json.dumps(cost) if args.json else
              f"epoch cost ({cost['config']}, {cost['epochs']} epochs, best of 5): "
              f"unconstrained {cost['none_s']:.3f} s, theorem1 {cost['theorem1_s']:.3f} s, "
              f"ratio {cost['ratio']:.2f}x (goal <= 1.5x); exact inside fraction of 16 layers "
              f"{cost['exact_inside_s']:.4f} s ({command} --timing-only)")
        return
    chi1 = certified_chi1()

    def result(rows: list[dict], partial: bool) -> dict:
        return {"study": name, "spec": spec, "timing": cost, "chi1": chi1,
                "summary": summarise(rows), "runs": rows, "partial": partial,
                "seconds": time.perf_counter() - t0, "command": command}

    def sink(rows: list[dict]) -> None:  # the file this run created, rewritten as it grows
        if args.out:
            from snn_theory.files import atomic_write

            atomic_write(args.out, json.dumps(result(rows, True)))

    rows = run_study(spec, progress, sink)
    out = result(rows, False)
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
    c1 = chi1["1"]
    print(f"certified chi_1 at the fixed point, omega = 0: tau = 1: {c1['mid']:.6f} "
          f"(+/- {c1['rad']:.1e}); tau = 0.95: {chi1['0.95']['mid']:.6f}; tau = 1.1: "
          f"{chi1['1.1']['mid']:.6f}")
    print(f"{'data set':14} {'depth':>5} {'variant':16} {'test acc':>14} {'last (mu, nu)':>16} "
          f"{'inside (min)':>12} {'grad/layer 0 -> end':>20}")

    def fmt(x: float | None, spec: str) -> str:
        return "n/a" if x is None else format(x, spec)

    for c in out["summary"]:
        print(f"{c['dataset']:14} {c['depth']:5d} {c['variant']:16} "
              f"{c['test_mean']:8.3f}±{c['test_std']:.3f} "
              f"({c['mu_end']:6.2f}, {c['nu_end']:5.2f}) {fmt(c['inside_min'], '.3f'):>12} "
              f"{fmt(c['grad_factor_start'], '.3f'):>9} -> {fmt(c['grad_factor_end'], '.3f'):>6}")
    print(f"{len(rows)} runs, {out['seconds']:.0f} s wall ({command}); accuracies, (mu, nu) and "
          "gradient factors are float32 measurements; the inside fraction is exact; chi_1 is "
          "certified")


if __name__ == "__main__":
    main()
