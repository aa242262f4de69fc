"""``snn-theory verify-contraction``: prove (or refute) Theorems 1–3 in ball arithmetic, for
SELU or any other activation.

The search is :mod:`snn_theory.certify.search`, with the per-box bound of the resolved model
(:func:`snn_theory.certify.search.model_bounders.bounder_for`); certificates are written by
:mod:`snn_theory.certify.certificate.io` and re-checked by ``snn-theory check-certificate``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from snn_theory.certify.activation_claims import builtin_claims
from snn_theory.certify.claims import Claim, Domain, builtin_claim_for, check_name
from snn_theory.certify.network_enclosure import check_network_label
from snn_theory.certify.search.bounders import BoxBounder, ClosedFormBounder, Constants
from snn_theory.certify.search.model_bounders import bounder_for
from snn_theory.certify.search.network_bounder import NetworkBounder
from snn_theory.cli.activation_option import activation_options, resolve_options
from snn_theory.cli.console import verdict_cell
from snn_theory.cli.exit_codes import verdicts_exit_code
from snn_theory.cli.progress import ProgressBar, progress_bar
from snn_theory.errors import InputError
from snn_theory.exact import decimal_text, format_fraction, parse_exact
from snn_theory.files import writable_directory


def claims_for(theorem: str, domain: str | None, claim: str | None, name: str | None,
            bounder: BoxBounder) -> list[Claim]:
    """The claims to verify.  A user claim is called ``--name`` or, by default, a name
    derived from its statement and its map (so two different claims never share a name or a
    certificate file).  A built-in claim under another map than SELU with λ01, α01 is
    another claim: its name gains the map (:meth:`BoxBounder.claim_suffix`)."""
    if (domain is None) != (claim is None):
        raise InputError("give --domain and --claim together (e.g. --domain "
                         "'mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1' "
                         "--claim 'spectral_norm<1')")
    if domain is not None:
        if name is not None:
            check_name(name, "--name")
        parsed = Claim.parse(claim, Domain.parse(domain), name=name or "user")
        if name is None:
            parsed = dataclasses.replace(parsed, name=parsed.default_name(bounder.map_record()))
        builtin_claim_for(parsed, bounder == ClosedFormBounder())  # no look-alike of a theorem
        check_network_label(parsed.name, bounder.map_record()["spelling"]
                            if bounder.map_field == "network" else None)
        return [parsed]
    if name is not None:
        raise InputError("--name names a user claim (with --domain and --claim); built-in "
                         "claims keep their names")
    return builtin_claims(theorem, bounder)


def _enclosure_note(result: object) -> str:
    """Why the enclosure is as wide as it is (empty when it met the tolerance asked for)."""
    if result.verdict == "undecided" or result.tolerance_met is True:
        return ""
    if result.tolerance is None:
        return "(not refined; see --tolerance)"
    return f"({result.reason})"


def _enclosure_text(result: object) -> str:
    if result.extremum is None:
        return "—"
    lo, hi = result.extremum
    return (f"{result.claim.kind} ∈ [{decimal_text(lo, -1, 10)}, {decimal_text(hi, 1, 10)}]")


@click.command("verify-contraction")
@click.option("--theorem", type=click.Choice(["1", "2", "3", "appendix", "all"]), default="all",
              show_default=True, help="Which built-in claims to verify.")
@click.option("--grid", type=click.Choice(["coarse", "fine", "paper"]), default="coarse",
              show_default=True,
              help="Initial uniform partition: coarse = 2 cells per dimension (16 boxes), "
                   "fine = 8 per dimension (4096 boxes); refinement is adaptive. "
                   "'paper' only with --method paper.")
@click.option("--tolerance", default=None,
              help="After deciding a claim, refine its extremum enclosure until it is "
                   "narrower than this (within --max-boxes/--time-limit; the enclosure "
                   "reached is reported).  Default: decide only.")
@click.option("--jobs", "-j", type=int, default=None,
              help="Worker processes (default: all cores).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run the boxes on this Dask distributed scheduler instead of local "
                   "processes (not with --jobs; the boxes split per round follow the "
                   "cluster's thread count).")
@click.option("--certificate-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("proofs"), show_default=True,
              help="Where the proof certificates (and the resume state, in .state/) go.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its saved state.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--domain", default=None,
              help="Own claim: domain 'mu=a:b,omega=a:b,nu=a:b,tau=a:b' (with --claim).")
@click.option("--claim", "claim_text", default=None,
              help="Own claim: e.g. 'spectral_norm<1', 'variance_change>0', 'J22<=0.9'.")
@click.option("--name", "claim_name", default=None,
              help="Name of the own claim (ASCII letters, digits, . _ - [ ] = , : / +); its "
                   "certificate is NAME.cert.json.  Default: user.QUANTITY.HASH, derived from "
                   "the statement and the constants.  A certificate of another statement is "
                   "never overwritten.")
@click.option("--lam", default=None, help="λ: exact decimal or interval a:b (default λ01 "
                                          "enclosed from its closed form).")
@click.option("--alpha", default=None, help="α: exact decimal or interval a:b (default α01).")
@click.option("--max-boxes", type=int, default=None,
              help="Leaf-box budget per claim (default 400000 for SELU's closed forms, "
                   "20000 for another activation; at least the initial grid): "
                   "undecided when spent before the claim is decided; spent while refining, "
                   "the claim stands and the enclosure reached is reported.")
@click.option("--time-limit", type=float, default=None,
              help="Seconds per claim (like --max-boxes: undecided only if reached before "
                   "the claim is decided).")
@click.option("--method", type=click.Choice(["interval", "paper"]), default="interval",
              show_default=True,
              help="interval: branch-and-bound in ball arithmetic (a proof, with a "
                   "certificate); paper: the paper's float64 grid + rigorous derivative bounds "
                   "+ a stated, UNPROVEN float allowance (--theorem 1|appendix; not a proof, "
                   "no certificate; JSON \"proof\": \"grid+allowance\").")
@click.option("--network", default=None, metavar="SPEC",
              help="Claims about a whole network's composed map, e.g. \"dense(selu), "
                   "alpha_dropout(0.1)\" (docs/networks.md); the domain's ω, τ are those of "
                   "every dense block that names none.  --theorem 1: S < 1 and the map sends "
                   "the (μ, ν) box of Theorem 1 into itself.  Certificates record the network.")
@activation_options
def verify_command(theorem: str, grid: str, tolerance: str, jobs: int | None,
                   scheduler: str | None, certificate_dir: Path, resume: bool, as_json: bool, domain: str | None,
                   claim_text: str | None, claim_name: str | None, lam: str | None,
                   alpha: str | None, max_boxes: int | None, time_limit: float | None,
                   method: str, network: str | None, activation: str, scale: str,
                   shift: str) -> None:
    """Prove the paper's Theorems 1–3 by interval branch-and-bound in ball arithmetic.

    Each claim (quantity relation threshold on a box in μ, ω, ν, τ) is decided first: a
    box is done as soon as its rigorous bound proves the claim, and the search stops at the
    first point whose ball value violates it.  Then, with --tolerance, the enclosure of the
    deciding extremum (max for < and ≤, min for > and ≥) is refined to that width.  Every
    claim gets a verdict, the certified enclosure reached, and a certificate in
    --certificate-dir that `snn-theory check-certificate` re-verifies.

    The table (and --json) shows each claim's name, full statement, domain and constants;
    --json marks an interval proof "proof": "interval".

    With --activation other than selu, the claims are about that activation (--theorem 1:
    S < 1 and g maps the (μ, ν) box into itself), decided by the same search with rigorous
    Gaussian integrals (--jobs, --resume, --tolerance and --scheduler as for SELU);
    certificates record the activation's definition.

    With --network SPEC, the claims are about the network's composed map (mean, variance,
    its Jacobian H, S), by the same search; --theorem 1 is the analogue above, the other
    theorems' claims are stated as they are; built-in claim names gain [net-HASH] of the
    network, and certificates record the network's canonical spelling.

    Cluster: --scheduler tcp://HOST:8786 sends the boxes of each round, in chunks, to a
    running Dask scheduler (e.g. `dask scheduler` plus `dask worker tcp://HOST:8786` on each
    machine; the workers need snn-theory installed).  The boxes are independent tasks and
    come back in order, so the verdicts, enclosures and certificates are those of local
    processes with as many workers.  An unreachable scheduler is reported within a few
    seconds (exit 2).

    Exit status: 0 every claim holds, 1 a claim is false (with a counterexample),
    3 a claim is undecided (budget), 2 bad input.  The paper's Theorem 1 bound μ̃ ≥ −0.03106
    is a known erratum: --theorem 1 refutes it, says so under the table (JSON: "erratum"),
    and exits 1.  With --method paper, 0 means the paper's
    inequality was met, which rests on the unproven float allowance (see --method).
    """
    from rich.console import Console
    from rich.text import Text

    if network is not None:
        _refuse_with_network(activation, scale, shift, lam, alpha, method, grid)
    model = resolve_options(activation, scale, shift)
    if method != "interval" or lam is not None or alpha is not None or grid == "paper":
        model.require_closed_form("--method paper, --grid paper, --lam and --alpha are for "
                                  "SELU; with --activation use --scale/--shift")
    if jobs is not None and jobs < 1:
        raise InputError(f"--jobs must be ≥ 1 (got {jobs})")
    if scheduler is not None and (jobs is not None or method != "interval"):
        raise InputError("--scheduler runs the interval search on a cluster; it does not "
                         "combine with --jobs or --method paper")
    if max_boxes is not None and max_boxes < 1:
        raise InputError(f"--max-boxes must be ≥ 1 (got {max_boxes})")
    if time_limit is not None and not time_limit > 0:
        raise InputError(f"--time-limit must be > 0 (got {time_limit})")
    tol = None if tolerance is None else parse_exact(tolerance, "--tolerance")
    if tol is not None and tol <= 0:
        raise InputError(f"--tolerance must be > 0 (got {tolerance})")
    console = Console(stderr=True)
    show_progress = not as_json and console.is_terminal

    if method == "paper":
        if (domain is not None or claim_text is not None or lam is not None
                or alpha is not None or claim_name is not None):
            raise InputError("--method paper checks the built-in contraction claims only "
                             "(no --domain/--claim/--name/--lam/--alpha)")
        if theorem not in ("1", "appendix"):
            raise InputError("--method paper supports --theorem 1|appendix")
        from snn_theory.cli import verify_paper

        verify_paper.run(theorem, grid, resume, certificate_dir, as_json, show_progress)

    if grid == "paper":
        raise InputError("--grid paper belongs to --method paper")
    from snn_theory.certify.certificate.io import overwrite_conflict
    from snn_theory.certify.search.executors import Executor
    from snn_theory.certify.search.loop import verify_claims
    from snn_theory.certify.search.settings import Settings

    bounder = (bounder_for(model, Constants.parse(lam, alpha)) if network is None
               else NetworkBounder.of(network))
    # A claim checked under another map is another claim: it must not carry (or overwrite
    # the certificate of) the built-in name proven for SELU with λ01, α01.
    claims = claims_for(theorem, domain, claim_text, claim_name, bounder)
    certificate_dir = writable_directory(certificate_dir, "certificate dir")
    for c in claims:  # refuse before spending the time, not after
        conflict = overwrite_conflict(certificate_dir, c.to_json(),
                                      {bounder.map_field: bounder.map_record()})
        if conflict:
            raise InputError(f"{c.name}: {conflict}")
    settings = Settings(grid=grid, tolerance=tol, jobs=jobs or os.cpu_count() or 1,
                        max_boxes=max_boxes, time_limit=time_limit, bounder=bounder,
                        state_dir=certificate_dir / ".state", resume=resume)

    def resumed(result: object) -> None:
        if resume and result.resume != "resumed":
            why = ("no saved state" if result.resume == "no state" else
                   "the saved state is for other settings or damaged")
            console.print(Text(f"{result.claim.name}: --resume: {why}; started from the "
                               "initial grid"), soft_wrap=True)

    executor = Executor(settings.jobs, scheduler, connect_timeout=3.0)  # InputError: unreachable
    with executor, _progress(show_progress) as progress:
        results = verify_claims(claims, settings, certificate_dir, progress, resumed,
                                executor=executor)
    if as_json:
        click.echo(json.dumps({"claims": [r.json_entry() for r in results]}))
    else:
        print_claims(results)
    sys.exit(verdicts_exit_code(r.verdict for r in results))


def _refuse_with_network(activation: str, scale: str, shift: str, lam: str | None,
                         alpha: str | None, method: str, grid: str) -> None:
    """InputError for options that describe one layer, or another method, with --network."""
    if (activation, scale, shift) != ("selu", "1", "0") or lam is not None or alpha is not None:
        raise InputError("--network names its blocks' activations (SELU with λ01, α01 in "
                         "dense(selu)); it does not combine with --activation, --scale, "
                         "--shift, --lam or --alpha")
    if method != "interval" or grid == "paper":
        raise InputError("--network is verified by the interval search (not --method paper "
                         "or --grid paper)")


@contextmanager
def _progress(show: bool) -> Iterator[Callable[[Claim, object], None]]:
    """Progress lines on stderr, one per claim: boxes decided and open, the current extremum
    enclosure.  Redrawn on each report only (no refresh thread beside the worker pool)."""
    with progress_bar("verifying", show=show, spinner=True, bar=False,
                      auto_refresh=False) as display:
        lines: dict[str, ProgressBar] = {}

        def update(claim: Claim, status: object) -> None:
            if not display.shown:
                return
            if claim.name not in lines:
                lines[claim.name] = display.line(claim.name) if lines else display
            enclosure = status.enclosure
            text = f"{status.phase}: {status.decided} boxes decided, " \
                   f"{status.boxes - status.decided} open"
            if status.refuted:
                text += ", counterexample found"
            if enclosure is not None:
                from snn_theory.exact import decimal_text

                lo, hi = decimal_text(enclosure[0], -1, 10), decimal_text(enclosure[1], 1, 10)
                text += f", {claim.kind} ∈ [{lo}, {hi}]"
            lines[claim.name].describe(f"{claim.name}: {text}")

        yield update


def print_claims(results: list, title: str = "verify-contraction (ball arithmetic, "
                                           "python-flint/Arb)") -> None:
    """The human table of the verifier's results (``verify-contraction`` and ``reproduce``),
    laid out for the terminal's width (:func:`snn_theory.cli.console.print_table`), then each
    certificate's path.  Every cell is plain text (never markup): claim names such as
    ``theorem1.mean_lower[lam=1.0506,alpha=alpha01]`` are printed exactly as they are."""
    from snn_theory.cli.console import print_table, print_wrapped

    rows = []
    for r in results:
        statement = f"{r.claim.quantity} {r.claim.relation} {format_fraction(r.claim.threshold)}"
        enclosure_text = " ".join(filter(None, (_enclosure_text(r), _enclosure_note(r))))
        rows.append((r.claim.name, statement, str(r.claim.domain), r.bounder.describe(),
                     enclosure_text, verdict_cell(r), str(len(r.leaves)), f"{r.seconds:.2f}"))
    # the map's column is named after how the certificates record it (constants, activation)
    map_column = results[0].bounder.map_field if results else "constants"
    print_table(title, ("name", "statement", "domain", map_column,
                        "certified extremum enclosure", "verdict", "boxes", "seconds"),
                rows, right=("boxes", "seconds"))
    for r in results:
        if r.erratum:
            print_wrapped(f"{r.claim.name} is FALSE as expected, a known erratum of the paper: "
                          f"{r.erratum}.  The exit status is 1 (a claim is false) all the "
                          "same.")
    for r in results:
        if r.certificate:
            click.echo(f"certificate: {r.certificate}")
