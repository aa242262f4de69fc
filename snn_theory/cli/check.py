"""``snn-theory check-certificate FILE...``: re-verify proof certificates independently."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from snn_theory.errors import InputError


@click.command("check-certificate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=int, default=None,
              help="Processes for re-evaluating boxes (default: all cores).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def check_certificate_command(files: tuple[Path, ...], jobs: int | None, as_json: bool) -> None:
    """Re-verify proof certificates written by `verify-contraction`.

    For each FILE the checker recomputes everything from the formulas, trusting nothing in
    the file: checksum; the claim against the built-in definition; the map from its record
    (the constants against their closed forms; an activation's formula and growth bound
    against its definition); that the leaf boxes tile the domain with no gap or overlap (exact
    arithmetic); a fresh ball-arithmetic bound on every box; the extremum enclosure and its
    witness; or, for a refuted claim, the counterexample.  A paving certificate (written by
    `map-domain`) is checked cell by cell: the cells tile the plane region exactly, every
    proven cell's five claims are re-derived from the paving's box B and the cell and
    re-proven box by box, every refuted cell's counterexample is re-evaluated.  A shaping
    certificate (written by `shape --out`) is checked by re-running the Krawczyk test on its
    box and comparing the re-derived parameters with the recorded intervals.  A network
    certificate (written by `certify-network`) is re-derived from the weights file it names
    (its sha256 must match): every unit's exact (ω, τ) and its membership of the region.

    Output: one line per certificate, the single place to read what was proven —
    VALID/INVALID, path, HOLDS/FALSE, the full statement (quantity, relation, threshold,
    domain), the constants (source and intervals), whether it is a built-in theorem (decided
    by its statement, not its name), the claim's name, the box count, and the extremum
    enclosure or the counterexample recomputed by the checker.  --json: the same fields.

    Exit status: 0 when every file is valid, 1 when any is not, 2 on bad usage.
    """
    from snn_theory.certify import domains, network_certificate, shaping_certificate
    from snn_theory.certify.certificate.check import check_certificate
    from snn_theory.cli.progress import progress_bar

    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")
    jobs = jobs or os.cpu_count() or 1
    for f in files:
        if not f.exists():
            raise InputError(f"no such file: {f}")
    reports = []
    with progress_bar("checking", show=not as_json, count="") as bar:
        for f in files:
            bar.describe(f"checking {f.name}")
            bar(0, None)
            if domains.is_paving_certificate(f):
                reports.append(domains.check_paving(f, progress=bar))
            elif network_certificate.is_network_certificate(f):
                reports.append(network_certificate.check_network_certificate(f))
            elif shaping_certificate.is_shape_certificate(f):
                reports.append(shaping_certificate.check_shape_certificate(f))
            else:
                reports.append(check_certificate(f, jobs=jobs, progress=bar))
    if as_json:
        click.echo(json.dumps({"certificates": [r.to_json() for r in reports],
                               "all_valid": all(r.valid for r in reports)}))
    else:
        from snn_theory.cli.console import print_wrapped

        for r in reports:  # one paragraph each, "VALID FILE: …" wrapped at spaces after it
            head, colon, body = r.line().partition(": ")
            print_wrapped(body, indent=head + colon, subsequent="  ")
    sys.exit(0 if all(r.valid for r in reports) else 1)
