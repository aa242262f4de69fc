"""``snn-theory train``: deep networks trained on scikit-learn's bundled data sets, recorded
against the theorem (see :mod:`snn_theory.simulate.training`).

    snn-theory train                                   # digits, every variant, depth 16
    snn-theory train --variants selu,relu-bn --depths 8,16,32 --epochs 20
    snn-theory train --dataset wine --init normalized --json
    snn-theory train --out runs.json --save-weights runs.npz   # then: plot training --results runs.json
    snn-theory train --activation tanh                 # plus c·tanh(x) + d, (0, 1) fixed
    snn-theory train --variants selu --constraint theorem1   # every step kept provably inside

Bad input (one line, exit 2): unknown data set, variant, optimizer or init; depth, width,
epochs or batch size < 1; learning rate ≤ 0; dropout rate outside [0, 1); unknown
activation or an expression that does not parse; unknown constraint, or a paving that is
missing or fails the certificate checker.  If the SELU constants (or the activation's
c, d) cannot be certified: one line, exit 3.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from snn_theory.cli.exit_codes import EXIT_NOT_CERTIFIED
from snn_theory.errors import InputError
from snn_theory.files import atomic_write

STUDY_HINT = ("larger study (every data set, two depths, ≥ 5 seeds, a learning-rate grid): "
              "python benchmarks/bench_train.py --full")
#: The format tags of what ``--out`` (the JSON records) and ``--save-weights`` (an array
#: ``format`` in the archive) write: a file without its tag is never written over.
RUNS_FORMAT = "snn-theory-train-runs"
WEIGHTS_FORMAT = "snn-theory-train-weights"


def _split_list(text: str, what: str) -> list[str]:
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise InputError(f"{what}: expected a comma-separated list (got {text!r})")
    twice = sorted({t for t in items if items.count(t) > 1})
    if twice:  # each would be trained again, the same run twice
        raise InputError(f"{what} names {', '.join(twice)} more than once (got {text!r})")
    return items


def parse_ints(text: str, what: str) -> list[int]:
    """``"8,16,32"`` → [8, 16, 32]; InputError (one line) otherwise."""
    out = []
    for item in _split_list(text, what):
        try:
            out.append(int(item))
        except ValueError:
            raise InputError(f"{what} must be integers (got {item!r})") from None
    if len(set(out)) < len(out):
        raise InputError(f"{what} names a value more than once (got {text!r})")
    return out


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def run_configs(configs: list[Any], show_progress: bool) -> list[Any]:
    """Train each config in turn, one progress bar over all epochs (stderr, when
    ``show_progress`` and stderr is a terminal)."""
    from snn_theory.cli.progress import progress_bar
    from snn_theory.simulate.network import train

    total = sum(c.epochs for c in configs)
    results = []
    with progress_bar("", total=total, show=show_progress, count="epochs") as bar:
        done = 0
        for c in configs:
            bar.describe(f"{c.variant} depth {c.depth} (compiling…)")

            def update(epoch: int, _total: int, base: int = done, c: Any = c) -> None:
                bar.describe(f"{c.variant} depth {c.depth}")
                bar(base + epoch, total)

            results.append(train(c, progress=update))
            done += c.epochs
    return results


def build_configs(dataset: str, variants: str, depths: str, activation: str | None = None,
                  scale: str | None = None, shift: str | None = None,
                  **fields: Any) -> list[Any]:
    """Every (variant, depth) config, validated before anything runs; with ``activation``
    one more per depth (the activation variant, after the others)."""
    from snn_theory.simulate.training import ACTIVATION_VARIANT, TrainConfig

    if activation is None and (scale is not None or shift is not None):
        raise InputError("--scale and --shift need --activation")
    base = TrainConfig(dataset=dataset, **fields)
    base.validate()
    extra = [] if activation is None else [ACTIVATION_VARIANT]
    configs = [replace(base, variant=v, depth=d, **({"activation": activation, "scale": scale,
                                                     "shift": shift}
                                                    if v == ACTIVATION_VARIANT else {}))
               for d in parse_ints(depths, "depths")
               for v in [*_split_list(variants, "variants"), *extra]]
    for c in configs:
        c.validate()
    return configs


def train_activation_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--activation``, ``--scale``, ``--shift`` (as elsewhere, :mod:`.activation_option`)
    for the one extra variant; unset by default (no extra variant)."""
    from snn_theory.cli.activation_option import HELP

    func = click.option("--shift", default=None,
                        help="d in c·f(x) + d (default: with --scale 0, without it the "
                             "d for the fixed point (0, 1)).")(func)
    func = click.option("--scale", default=None,
                        help="c in c·f(x) + d (default: with --shift 1, without it the c "
                             "that makes (0, 1) the fixed point at ω = 0, τ = 1).")(func)
    func = click.option("--activation", default=None, metavar="NAME|EXPR",
                        help="Train one more variant with this activation (init like selu, "
                             "no batch norm).  " + HELP.replace("  Default selu.", ""))(func)
    return func


def common_options(f: Callable[..., Any] | None = None, *, width_flag: str = "--width",
                   **defaults: Any) -> Any:
    """The training options shared by ``train`` and ``plot training`` (``defaults``
    override :class:`snn_theory.simulate.training.TrainConfig`'s; ``width_flag`` names the network-width
    option, passed as ``width``, or as ``net_width`` under another flag)."""
    if f is None:
        return lambda g: common_options(g, width_flag=width_flag, **defaults)
    from snn_theory.simulate.training import TrainConfig

    d = replace(TrainConfig(), **defaults)
    for option in reversed([
        click.option("--dataset", default=d.dataset, show_default=True,
                     help="digits, breast-cancer, wine or iris (bundled with scikit-learn)."),
        click.option(width_flag, "width" if width_flag == "--width" else "net_width", type=int,
                     default=d.width, show_default=True,
                     help="Units per hidden layer."),
        click.option("--epochs", type=int, default=d.epochs, show_default=True),
        click.option("--batch-size", type=int, default=d.batch_size, show_default=True),
        click.option("--lr", "learning_rate", type=float, default=d.learning_rate,
                     show_default=True, help="Learning rate (> 0)."),
        click.option("--optimizer", default=d.optimizer, show_default=True,
                     help="adam, sgd or momentum (SGD with momentum 0.9); optax."),
        click.option("--dropout-rate", type=float, default=d.dropout_rate, show_default=True,
                     help="Drop rate in [0, 1): alpha dropout (certified a, b) for SELU, "
                          "inverted dropout for the others."),
        click.option("--init", default=d.init, show_default=True,
                     help="lecun: w ~ N(0, gain/fan_in); normalized: every row exactly "
                          "Σw = 0, Σw² = gain (gain 2 for ReLU, else 1)."),
        click.option("--seed", type=int, default=d.seed, show_default=True,
                     help="Weights, minibatch order, dropout masks."),
        click.option("--split-seed", type=int, default=d.split_seed, show_default=True,
                     help="The 60/20/20 train/validation/test split."),
        click.option("--heldout", type=int, default=d.heldout, show_default=True,
                     help="Validation samples on which the per-layer (μ, ν) are measured."),
        click.option("--constraint", default=d.constraint, show_default=True,
                     metavar="none|max-norm|theorem1|domain-map|PAVING.json.gz",
                     help="Project every hidden unit's weight row after each update: "
                          "max-norm (Σw² ≤ 1.1, bounds τ only), or onto the nearest row whose "
                          "(ω, τ) lies in a certified region: Theorem 1's rectangle, the "
                          "largest certified rectangle of the committed domain map, or the "
                          "proven cells of a paving (each paving re-checked first).  The "
                          "fraction inside is measured exactly from the stored weights."),
    ]):
        f = option(f)
    return f


@click.command("train", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--variants", default="selu,relu-bn,relu,tanh,scaled-tanh", show_default=True,
              help="Comma-separated: selu, relu-bn, relu, tanh, scaled-tanh.")
@click.option("--depths", default="16", show_default=True,
              help="Comma-separated numbers of hidden layers, e.g. 8,16,32,64.")
@train_activation_options
@common_options
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object on stdout: every run's config, summary and records.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write the records (JSON, as --json) to FILE, for `plot training --results`; "
                   "an existing FILE is replaced only if train wrote it.")
@click.option("--save-weights", type=click.Path(dir_okay=False), default=None,
              help="Write every run's final weights to FILE.npz (keys run<k>/<name>, and "
                   "format); an existing FILE is replaced only if train wrote it.")
def train_command(variants: str, depths: str, dataset: str, as_json: bool, out: str | None,
                  save_weights: str | None, **fields: Any) -> None:
    """Train deep fully connected networks on a bundled data set and record, after every
    epoch, whether they stay where the theorem holds.

    Per epoch and per hidden layer, on a held-out batch of the validation set: the
    activations' pooled mean and variance (μ, ν) — the fixed point of the map g is (0, 1);
    the per-unit weight statistics ω_i = Σ_j w_ij and τ_i = Σ_j w_ij² (median, 5–95 %) and
    the fraction of units with (ω_i, τ_i) in Theorem 1's rectangle (where
    `verify-contraction --theorem 1` proves the contraction)
    ω ∈ [−0.1, 0.1], τ ∈ [0.95, 1.1]; the gradient norms; losses and accuracies.

    Variants: selu (certified λ01, α01; alpha dropout with certified a, b), relu-bn (equinox
    BatchNorm), relu, tanh, scaled-tanh (1.7159·tanh(2x/3)); with --activation one more,
    c·f(x) + d of that activation (by default c, d make (0, 1) the fixed point of its map g
    at ω = 0, τ = 1; certified), initialised like selu, no batch norm.  optax optimisers, JAX jit,
    fixed seeds, 60/20/20 stratified split.  The numbers are float32 measurements of
    trained networks (evidence), not proofs.  The defaults take well under 2 minutes on two
    CPU cores (mostly compilation: one per variant and depth).
    """
    configs = build_configs(dataset, variants, depths, **fields)
    from snn_theory.simulate.constrained import region_for

    region_for(configs[0].constraint)  # a paving is checked before any training
    if save_weights and not save_weights.endswith(".npz"):
        raise InputError(f"--save-weights must name a .npz file (got {save_weights!r})")
    from snn_theory.files import check_overwrite, tagged_json, tagged_numpy_archive

    for option, path, ours in (("--out", out, tagged_json(RUNS_FORMAT)),
                               ("--save-weights", save_weights,
                                tagged_numpy_archive(WEIGHTS_FORMAT))):
        if path:  # before training, not after it
            from pathlib import Path

            from snn_theory.files import writable_directory

            if Path(path).is_dir():
                raise InputError(f"{option} {path!r} is a directory")
            writable_directory(Path(path).parent, f"{option} directory")
            # only a file this command wrote (its format tag) is written over
            check_overwrite(path, ours, option)
    try:
        results = run_configs(configs, show_progress=not as_json)
    except ArithmeticError as exc:
        click.echo(f"snn-theory train: error: {' '.join(str(exc).split())}", err=True)
        sys.exit(EXIT_NOT_CERTIFIED)
    record = {"format": RUNS_FORMAT, "runs": [r.to_json() for r in results],
              "region": _region_json()}
    if out:
        _write(out, json.dumps(record))
    if save_weights:
        import numpy as np

        try:
            np.savez(save_weights, format=np.array(WEIGHTS_FORMAT),
                     **{f"run{k}/{name}": a for k, r in enumerate(results)
                        for name, a in r.weights.items()})
        except OSError as exc:
            raise InputError(f"cannot write {save_weights}: {exc.strerror}") from None
    if as_json:
        click.echo(json.dumps(record))
        return
    _print_table(results)
    from snn_theory.cli.console import print_wrapped

    for r in results:
        if r.config.constraint != "none":
            print_wrapped(f"{r.label}: units inside the constraint's region (exact, from the "
                          f"stored weights), smallest over epochs and layers: "
                          f"{r.inside_fraction.min():.4g}")
    if out:
        click.echo(f"wrote {out}")
    if save_weights:
        click.echo(f"wrote {save_weights}")
    print_wrapped(STUDY_HINT)


def _region_json() -> dict[str, list[float]]:
    from snn_theory.simulate.training import certified_region

    (wl, wh), (tl, th) = certified_region()
    return {"omega": [wl, wh], "tau": [tl, th]}


def _write(path: str, text: str) -> None:
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None


def _print_table(results: list[Any]) -> None:
    from snn_theory.cli.console import print_table, print_wrapped
    from snn_theory.simulate.training import certified_region

    c0 = results[0].config
    (wl, wh), (tl, th) = certified_region()
    columns = ("variant", "depth", "train loss", "val acc", "test acc", "last (μ, ν)",
               "median τ", "in region", "s", "compile s")
    rows = []
    for r in results:
        s = r.summary()
        tau_mid = r.tau_quantiles[:, 1, 1:].mean(axis=1)  # hidden layers 2.. (fan-in = width)
        rows.append((
            r.name, str(r.config.depth),
            f"{_fmt(s['train_loss_start'], 2)}→{_fmt(s['train_loss_end'], 2)}",
            _fmt(s["val_accuracy_end"]), _fmt(s["test_accuracy_end"]),
            f"{_fmt(s['last_layer_mu_start'], 2)}, {_fmt(s['last_layer_nu_start'], 2)}→"
            f"{_fmt(s['last_layer_mu_end'], 2)}, {_fmt(s['last_layer_nu_end'], 2)}",
            f"{_fmt(float(tau_mid[0]), 2)}→{_fmt(float(tau_mid[-1]), 2)}",
            f"{100 * s['in_region_start']:.0f}→{100 * s['in_region_end']:.0f}%",
            f"{r.seconds:.1f}", f"{r.compile_seconds:.1f}"))
    print_table(f"{c0.dataset}: width {c0.width}, {c0.epochs} epochs, {c0.optimizer} lr "
                f"{c0.learning_rate:g}, dropout {c0.dropout_rate:g}, {c0.init} init, seed "
                f"{c0.seed}", columns, rows, right=columns[1:])
    for r in results:
        if r.activation is not None and r is next(
                q for q in results if q.activation == r.activation):
            print_wrapped(f"{r.name}: f = {r.activation['label']} "
                          f"({r.activation['parameters']})")
    print_wrapped(
        f"start → end of training.  (μ, ν): pooled over the held-out batch and the last hidden "
        f"layer's units (fixed point of g: (0, 1)).  median τ: over hidden layers 2..depth.  "
        f"in region: hidden units with ω_i ∈ [{wl:g}, {wh:g}] and τ_i ∈ [{tl:g}, {th:g}] "
        f"(Theorem 1's rectangle, on which `verify-contraction --theorem 1` proves the "
        f"contraction of g).  s: wall time of the run; compile s: the part of it JAX spent "
        f"compiling (a run reusing the program an earlier run of the same shapes compiled "
        f"spends about 0 there, the earlier run carries it).  float32 measurements, not "
        f"proofs.")


__all__ = ["train_command"]
