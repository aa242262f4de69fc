"""``verify-contraction --activation NAME``: the claims for another activation.

The presentation half of :mod:`snn_theory.certify.activation_search` (the search and its
certificates; the checker is :mod:`snn_theory.certify.activation_check`).  Built-in groups: ``--theorem 1`` becomes Theorem 1's
statement for the activation (S < 1, and g maps the (μ, ν) box [−0.1, 0.1] × [0.8, 1.5] into
itself), ``appendix``, ``2`` and ``3`` keep their claims; ``--domain``/``--claim`` give one's own.

As for SELU: ``--name`` names a user claim (default ``user.<activation>.<quantity>.<hash>``,
the hash of the statement and the activation's definition); ``--tolerance`` refines the
enclosure of a proven claim's extremum; ``--resume`` continues from the state saved in
``CERTIFICATE_DIR/.state`` when a run stopped undecided or was interrupted (only its boxes
are read, checked to tile the domain, and every one is re-bounded; an unusable state is
reported and ignored).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from fractions import Fraction
from pathlib import Path

import click

from snn_theory.certify import activation_cells, activation_claims, activation_search
from snn_theory.certify.claims import Claim, Domain, check_name
from snn_theory.certify.search.state import interrupted_run
from snn_theory.cli.exit_codes import verdicts_exit_code
from snn_theory.derive.activations import Activation
from snn_theory.errors import InputError
from snn_theory.exact import SHORT_DIGITS, decimal_text, format_fraction, interval_text
from snn_theory.files import StateFile


def default_name(act: Activation, claim: Claim) -> str:
    """``user.<activation>.<quantity>.<12 hex digits>``: the hash of the statement (without
    its name) and the activation's definition, so different claims never share a name."""
    text = json.dumps({"claim": dict(claim.to_json(), name=None),
                       "activation": act.to_json()}, sort_keys=True)
    label = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in act.name)[:24]
    return f"user.{label}.{claim.quantity}.{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def claims_for(act: Activation, theorem: str, domain: str | None, claim: str | None,
               name: str | None = None) -> list[Claim]:
    if (domain is None) != (claim is None):
        raise InputError("give --domain and --claim together")
    if domain is not None:
        if name is not None:
            check_name(name, "--name")
        parsed = Claim.parse(claim, Domain.parse(domain), name=name or "user")
        return [parsed if name is not None else
                dataclasses.replace(parsed, name=default_name(act, parsed))]
    if name is not None:
        raise InputError("--name names a user claim (with --domain and --claim); built-in "
                         "claims keep their names")
    claims = activation_claims.builtin_claims(theorem)
    # the claim's name carries the activation: a statement about another function
    return [dataclasses.replace(c, name=f"{c.name}[{act.label()}]") for c in claims]


def run(act: Activation, theorem: str, domain: str | None, claim_text: str | None,
        jobs: int, certificate_dir: Path, max_boxes: int | None, time_limit: float | None,
        as_json: bool, show_progress: bool, name: str | None = None,
        tolerance: Fraction | None = None, resume: bool = False) -> None:
    from snn_theory.cli.progress import progress_bar

    claims = claims_for(act, theorem, domain, claim_text, name)
    state_dir = certificate_dir / ".state"
    results = []
    states = {claim.name: activation_search.activation_state_path(state_dir, act, claim)
              for claim in claims}
    for path in states.values():  # a file that is not a state is refused before any work
        StateFile(path, activation_search.ACTIVATION_STATE).check_target()
    cache = activation_cells.CellCache(act, activation_search.DEFAULT_BITS, jobs)
    running = None
    try:
        with progress_bar("", show=show_progress, spinner=True, bar=False) as bar:
            for claim in claims:
                running = claim.name
                bar.describe(claim.name)

                def progress(c: Claim, boxes: int, cells: int) -> None:
                    bar.describe(f"{c.name}: {boxes} boxes, {cells} (m, v) cells")

                result = activation_search.verify(
                    act, claim, max_boxes=max_boxes or activation_search.DEFAULT_MAX_BOXES,
                    time_limit=time_limit, jobs=jobs, progress=progress, cache=cache,
                    tolerance=tolerance, resume=resume, state=states[claim.name],
                    keep_finished=len(claims) > 1)
                if resume and result.resume != "resumed":
                    why = ("no saved state" if result.resume == "no state" else
                           "the saved state is for other settings, damaged or does not tile "
                           "the domain")
                    bar.note(f"{claim.name}: --resume: {why}; started from the initial grid")
                path = activation_search.write_activation_certificate(certificate_dir, result)
                result.certificate = None if path is None else str(path)
                results.append(result)
                running = None
    except KeyboardInterrupt as exc:  # say exactly what was saved (finished claims kept)
        finished = [(r.claim.name, r.certificate, states[r.claim.name]) for r in results]
        raise interrupted_run(finished, running, exc, "verify-contraction --activation ... "
                              "--resume continues: saved boxes are re-bounded, never "
                              "trusted") from None
    finally:
        cache.close()
    for r in results:  # the run is through: the claims that hold leave nothing to resume
        if r.verdict == "holds":
            activation_search.discard_state(states[r.claim.name])
    if as_json:
        click.echo(json.dumps({"activation": act.to_json(),
                               "claims": [r.json_entry() for r in results]}))
    else:
        print_claims(act, results)
    sys.exit(verdicts_exit_code(r.verdict for r in results))


def print_claims(act: Activation, results: list) -> None:
    """The human table of the activation verifier's results (``verify-contraction
    --activation`` and ``reproduce --activation``), then the definition and certificates."""
    from snn_theory.cli.console import print_table, print_wrapped, verdict_cell

    rows = []
    for r in results:
        statement = f"{r.claim.quantity} {r.claim.relation} {format_fraction(r.claim.threshold)}"
        lo, hi = r.extremum
        end = hi if r.claim.kind == "max" else lo
        side = 1 if r.claim.kind == "max" else -1  # the proven end, rounded outward
        bound = "—" if end is None else f"{r.claim.kind} {'≤' if side > 0 else '≥'} " \
                                        f"{decimal_text(end, side, SHORT_DIGITS)}"
        rows.append([r.claim.name, statement, bound, verdict_cell(r), str(r.boxes),
                     f"{r.seconds:.2f}"])
    print_table(f"verify-contraction for {act.label()} (ball arithmetic, rigorous Gaussian "
                "integrals)", ["name", "statement", "bound", "verdict", "boxes", "seconds"],
                rows, right=("boxes", "seconds"))
    print_wrapped(f"activation: {act.label()} = {act.to_json()['formula']}")
    for r in results:
        if r.tolerance is not None:
            lo, hi = r.extremum
            enclosure = ("not refined" if lo is None or hi is None
                         else interval_text(lo, hi))
            met = "met" if r.tolerance_met else f"not met ({r.reason})"
            print_wrapped(f"{r.claim.name}: {r.claim.kind} ∈ {enclosure}; tolerance "
                          f"{format_fraction(r.tolerance)} {met}")
    for r in results:
        if r.certificate:
            click.echo(f"certificate: {r.certificate}")
