"""``snn-theory certify-network WEIGHTS``: prove that every hidden unit of a trained network
lies where the contraction is proven (see :mod:`snn_theory.certify.network_certificate`).

    snn-theory train --variants selu --constraint theorem1 --save-weights w.npz
    snn-theory certify-network w.npz --domain theorem1
    snn-theory certify-network w.npz --paving proofs/domain.paving.json.gz
    snn-theory check-certificate w.npz.network.json

Exit 0: every unit covered (the statement printed says what that proves); 1: some unit is
not (listed: layer, index, ω, τ); 2: bad input (a missing or malformed weights file, a
matrix of the wrong shape, an unknown domain, a paving that fails its check, an existing
--out file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from snn_theory.errors import InputError

#: Uncovered units listed in the text output (all of them in --json and the certificate).
SHOWN = 20


@click.command("certify-network", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("weights", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--domain", default=None, metavar="theorem1|domain-map|omega=a:b,tau=c:d",
              help="Theorem 1's rectangle, the largest certified rectangle of the committed "
                   "domain map, or a rectangle (exact decimals; certified only inside "
                   "Theorem 1's).")
@click.option("--paving", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A paving certificate: its proven cells (re-checked first).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The certificate to write (default WEIGHTS.network.json; never an "
                   "existing file).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def certify_network_command(weights: Path, domain: str | None, paving: Path | None,
                            out: Path | None, as_json: bool) -> None:
    """Prove, exactly, that every hidden unit's weight statistics (ω_i, τ_i) = (Σ_j w_ij,
    Σ_j w_ij²) lie in a certified region, and say what that proves.

    WEIGHTS: an .npz whose keys hidden<l>.weight or run<k>/hidden<l>.weight are the hidden
    layers' (units, fan_in) matrices (as `train --save-weights` writes them; row i is unit
    i's incoming weights).  ω_i, τ_i are computed as exact rationals from the stored floats.
    If every unit lies in the region and the region is certified, then for every unit the
    infinite-width mean-field moment map is a certified contraction of the region's (μ, ν)
    box with a unique attracting fixed point there (inputs' moments in the box).
    """
    from snn_theory.certify import network_certificate as nc
    from snn_theory.certify import weight_regions as wr
    from snn_theory.exact import interval_text

    if (domain is None) == (paving is None):
        raise InputError("give exactly one of --domain and --paving")
    out = Path(f"{weights}.network.json") if out is None else out
    if out.exists():
        raise InputError(f"--out {out} exists; choose another file (nothing is overwritten)")
    if domain is not None:
        region = (wr.theorem1_region() if domain == "theorem1" else
                  wr.domain_map_region() if domain == "domain-map" else
                  wr.rectangle_region(domain))
    else:
        assert paving is not None
        region = wr.paving_region(paving)
    result = nc.certify_network(weights, region)
    try:
        nc.write_network_certificate(result, out)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    content = json.loads(out.read_text())
    if as_json:
        click.echo(json.dumps({**content, "certificate": str(out)}))
    else:
        for layer in result.layers:
            click.echo(f"{layer.name}: {layer.units} units, ω ∈ "
                       f"{interval_text(*layer.omega)}, τ ∈ {interval_text(*layer.tau)}, "
                       f"{layer.units - len(layer.uncovered)} inside")
        missing = [(layer.name, *u) for layer in result.layers for u in layer.uncovered]
        for name, i, o, t in missing[:SHOWN]:
            click.echo(f"  outside: {name} unit {i}: ω = {interval_text(o, o)}, "
                       f"τ = {interval_text(t, t)}")
        if len(missing) > SHOWN:
            click.echo(f"  … and {len(missing) - SHOWN} more (all in {out})")
        click.echo(("PROVEN: " if result.proven else "") + result.statement())
        click.echo(f"wrote {out} (check: snn-theory check-certificate {out})")
    sys.exit(0 if result.covered else 1)


__all__ = ["certify_network_command"]
