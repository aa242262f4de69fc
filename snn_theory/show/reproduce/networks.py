"""Reproduce's networks stage: the four questions about networks, answered with artefacts.

Everything goes to ``PROOFS/networks/`` (the same settings in every mode, so that the
committed files do not depend on it):

1. **alpha dropout** — the Theorem 1 analogue (S < 1 and the map sends Theorem 1's (μ, ν) box
   into itself, on Ω = μ, ω ∈ [−0.1, 0.1], ν ∈ [0.8, 1.5], τ ∈ [0.95, 1.1]) for
   ``dense(selu), alpha_dropout(Q)`` at each rate of :data:`ALPHA_DROPOUT_RATES`, decided by
   the verifier's entry point with :class:`~snn_theory.certify.search.network_bounder.
   NetworkBounder` (as ``verify-contraction --network SPEC --theorem 1``), extremum ends to
   :data:`CLAIM_TOLERANCE`; certificates ``theorem1_analogue.*[net-…].cert.json``;
2. **residual** — the same claims for ``residual(W, dense(selu))`` at
   :data:`RESIDUAL_CLAIM_WEIGHTS` (decide only: a refuted claim has a checked
   counterexample);
3. every certificate re-checked by the independent checker (as ``check-certificate``);
4. ``tables.json``: certified balls (outward decimal strings, :func:`snn_theory.exact.
   ball_text`) from the library — the fixed point, χ, C′(0), ξ_c, ∂ν̃/∂ν, ξ_q of
   :func:`~snn_theory.certify.propagation.network.propagate_network`, S at (0, 1) of
   :func:`~snn_theory.evaluate.network_map.network_map`, the DyT table of
   :func:`~snn_theory.certify.dyt.dyt_table` — for the alpha-dropout rates, the residual
   weights :data:`RESIDUAL_TABLE_WEIGHTS`, DyT's α :data:`DYT_ALPHAS` and the layer-norm
   networks :data:`LAYER_NORM_NETWORKS`, with the claims' verdicts and extremum enclosures.

The report's section is :func:`report_lines`.  Nothing here depends on the machine or the
time: the searches run in this process and split one box at a time (:data:`ROUND`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from snn_theory.errors import TrivialFixedPoint
from snn_theory.exact import ball_text
from snn_theory.files import atomic_write
from snn_theory.show.reproduce.results import Tell

#: The sub-folder of ``PROOFS`` the stage writes.
NETWORKS_DIR = "networks"
#: The file of the certified tables.
TABLES_FILE = "tables.json"
#: Alpha-dropout rates whose Theorem 1 analogue is proven (the paper recommends 0.05–0.1).
ALPHA_DROPOUT_RATES = ("0.05", "0.1", "0.2")
#: Residual branch weights whose Theorem 1 analogue is decided (W = 1 is the single layer).
RESIDUAL_CLAIM_WEIGHTS = ("0.3", "0.4", "0.9")
#: Residual branch weights of the propagation table.
RESIDUAL_TABLE_WEIGHTS = ("0.1", "0.3", "0.4", "0.5", "0.7", "0.9", "1")
#: DyT's α of the table (0.5 is the published default).
DYT_ALPHAS = ("0.05", "0.1", "0.25", "0.5", "1", "2", "5", "10")
#: SELU alone against SELU followed by layer_norm (and tanh, which collapses alone).
LAYER_NORM_NETWORKS = ("dense(selu)", "dense(selu), layer_norm()", "dense(selu, tau=1.2)",
                       "dense(selu, tau=1.2), layer_norm()",
                       "dense(selu, tau=0.8), layer_norm()", "dense(tanh)",
                       "dense(tanh), layer_norm()")
#: Width of the extremum enclosures of the alpha-dropout claims (the residual ones are
#: decided only).
CLAIM_TOLERANCE = Fraction(1, 100)
#: Boxes split per round: one (one worker), so that the leaves — and the certificates —
#: are the same on every machine; the fewest boxes (measured: a round of 128 boxes doubles
#: the stage's time).
ROUND = 1
#: Working precision of the tables (bits) and the significant digits they keep.
TABLE_BITS = 64
TABLE_DIGITS = 10


def alpha_dropout_network(rate: str) -> str:
    return f"dense(selu), alpha_dropout({rate})"


def residual_network(weight: str) -> str:
    return f"residual({weight}, dense(selu))"


@dataclass(frozen=True)
class NetworksStage:
    """The claims decided per network, the checker's reports, the tables written."""

    claims: tuple[tuple[str, tuple[Any, ...]], ...]  # (spelling, ClaimResults)
    reports: tuple[Any, ...]  # CheckReport per certificate
    tables: dict[str, Any]
    path: Path
    figure: Path | None = None  # FIGURES/dropout_dyt.png

    @property
    def undecided(self) -> tuple[str, ...]:
        return tuple(r.claim.name for _, rs in self.claims for r in rs if r.holds is None)

    @property
    def alpha_dropout_holds(self) -> bool:
        spellings = {alpha_dropout_network(q) for q in ALPHA_DROPOUT_RATES}
        return all(r.holds is True for s, rs in self.claims if s in spellings for r in rs)

    @property
    def ok(self) -> bool:
        return (not self.undecided and self.alpha_dropout_holds and bool(self.reports)
                and all(r.valid for r in self.reports)
                and len(self.reports) == sum(len(rs) for _, rs in self.claims))

    @property
    def summary(self) -> str:
        results = [r for _, rs in self.claims for r in rs]
        holding = sum(r.holds is True for r in results)
        refuted = sum(r.holds is False for r in results)
        valid = sum(r.valid for r in self.reports)
        return (f"{len(self.claims)} networks: {holding} claims hold, {refuted} refuted, "
                f"{len(self.undecided)} undecided (certified); {valid}/{len(self.reports)} "
                f"certificates valid; alpha dropout at {', '.join(ALPHA_DROPOUT_RATES)}: "
                f"Theorem 1 analogue {'holds' if self.alpha_dropout_holds else 'NOT proven'}; "
                f"tables in {NETWORKS_DIR}/{TABLES_FILE}")


# --------------------------------------------------------------------------- the stage
def _decide(spelling: str, tolerance: Fraction | None, proofs: Path) -> tuple[Any, ...]:
    from snn_theory.certify.activation_claims import builtin_claims
    from snn_theory.certify.search.loop import verify_claims
    from snn_theory.certify.search.network_bounder import NetworkBounder
    from snn_theory.certify.search.settings import Settings

    bounder = NetworkBounder.of(spelling)
    claims = builtin_claims("1", bounder)
    settings = Settings(jobs=1, bounder=bounder, round_size=ROUND,
                        tolerance=tolerance,
                        state_dir=proofs / ".state", resume=False)
    return tuple(verify_claims(claims, settings, proofs))


def stage_networks(proofs: Path, tell: Tell, figures: Path | None = None) -> NetworksStage:
    """Decide, check and tabulate (module docstring); certificates and tables into
    ``proofs/networks``; with ``figures``, the figure of ``plot dropout-dyt`` with the
    certified maxima of S over Ω into ``figures/dropout_dyt.png``."""
    from snn_theory.certify.certificate.check import check_certificate
    from snn_theory.files import writable_directory

    out = proofs / NETWORKS_DIR
    writable_directory(out, "output directory")
    jobs = ([(alpha_dropout_network(q), CLAIM_TOLERANCE) for q in ALPHA_DROPOUT_RATES]
            + [(residual_network(w), None) for w in RESIDUAL_CLAIM_WEIGHTS])
    tell.start("deciding the networks' Theorem 1 analogues", len(jobs) + 1)
    claims, reports = [], []
    for k, (spelling, tolerance) in enumerate(jobs):
        tell.status(spelling)
        results = _decide(spelling, tolerance, out)
        claims.append((spelling, results))
        reports += [check_certificate(Path(r.certificate)) for r in results if r.certificate]
        tell.advance(k + 1, len(jobs) + 1)
    tell.status("certified tables")
    tables = certified_tables(dict(claims))
    path = out / TABLES_FILE
    atomic_write(path, json.dumps(tables, indent=1, ensure_ascii=False) + "\n")
    figure = None
    if figures is not None:
        from snn_theory.show.network_figures import dropout_dyt

        tell.status("drawing dropout_dyt.png")
        maxima = {row["rate"]: (c["extremum"]["lower"], c["extremum"]["upper"])
                  for row in tables["alpha_dropout"] for c in row["theorem1_analogue"]
                  if c["name"].startswith("theorem1_analogue.contraction[") and c["holds"]}
        figure = dropout_dyt(figures / "dropout_dyt.png", maxima=maxima).path
    tell.advance(len(jobs) + 1, len(jobs) + 1)
    return NetworksStage(tuple(claims), tuple(reports), tables, path, figure)


# --------------------------------------------------------------------------- tables
def _ball(x: Any) -> str | None:
    return None if x is None else ball_text(x, TABLE_DIGITS)


#: A bound on |β| of DyT printed instead of its ball (0 exactly: tanh is odd), whose radius,
#: near 1e-20, varies with what the process computed before.
BETA_BOUND = "1e-15"


def _small(x: Any) -> str:
    """``[-BETA_BOUND, BETA_BOUND]`` when the ball lies inside it (certified), else the ball."""
    from flint import arb

    bound = arb(BETA_BOUND)
    return f"[-{BETA_BOUND}, {BETA_BOUND}]" if abs(x) < bound else ball_text(x, TABLE_DIGITS)


def _claim_json(result: Any) -> dict[str, Any]:
    """A claim's verdict, extremum (outward) and counterexample, without timings or paths."""
    entry = result.json_entry()
    keep = ("name", "statement", "holds", "extremum", "counterexample", "boxes")
    return {**{k: entry[k] for k in keep},
            "certificate": Path(result.certificate).name if result.certificate else None}


def propagation_row(spelling: str) -> dict[str, Any]:
    """The certified fixed point, χ, phase, C′(0), ξ_c at c* = 0, ∂ν̃/∂ν, ξ_q, C(1) and S
    at (0, 1) of ``spelling`` (ω = 0, τ = 1 for blocks that name no weights); a collapse
    ν* → 0 is a row that says so."""
    from snn_theory.certify.propagation.network import propagate_network
    from snn_theory.evaluate.network_map import network_map

    s = network_map(spelling, mu="0", nu="1", digits=TABLE_DIGITS + 10).spectral_norm
    row: dict[str, Any] = {"network": spelling, "S_at_0_1": _ball(s)}
    try:
        p = propagate_network(spelling, prec=TABLE_BITS)
    except TrivialFixedPoint as exc:
        return {**row, "fixed_point": None, "collapse": " ".join(str(exc).split())}
    zero = next((f for f in p.fixed_points if f.value == 0), None)
    return {**row, "fixed_point": [_ball(p.mu_star), _ball(p.nu_star)], "chi": _ball(p.chi),
            "chi_mean": _ball(p.chi_mean), "phase": p.phase.phase,
            "c_map_slope_at_0": _ball(zero.slope) if zero else None,
            "xi_c_at_0": _ball(zero.depth_scale) if zero else None,
            "dnu_dnu": _ball(p.dnu_dnu), "xi_q": _ball(p.depth_scale_q),
            "c_map_at_1": _ball(p.c_map_at_one), "c_map_complete": p.complete}


def certified_tables(claims: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    """The four questions' tables (module docstring); ``claims``: decided claims by network."""
    from snn_theory.certify.dyt import dyt_table
    from snn_theory.precision import working_precision

    def with_claims(spelling: str) -> dict[str, Any]:
        row = propagation_row(spelling)
        if spelling in claims:
            row["theorem1_analogue"] = [_claim_json(r) for r in claims[spelling]]
        return row

    with working_precision(bits=TABLE_BITS):
        dyt = [{"alpha": str(r.alpha), "gamma": _ball(r.gamma), "beta": _small(r.beta),
                "S_at_0_1": _ball(r.spectral_norm), "attracting": r.attracting}
               for r in dyt_table(list(DYT_ALPHAS), bits=TABLE_BITS)]
    return {
        "note": "certified: every [a, b] contains the exact value (ball arithmetic, rounded "
                "outward); omega = 0, tau = 1 unless a block names its own; claims over "
                "Omega = mu, omega in [-0.1, 0.1], nu in [0.8, 1.5], tau in [0.95, 1.1], "
                "each with its certificate in this folder",
        "alpha_dropout": [{"rate": q, **with_claims(alpha_dropout_network(q))}
                          for q in ALPHA_DROPOUT_RATES],
        "residual": [{"weight": w, **with_claims(residual_network(w))}
                     for w in RESIDUAL_TABLE_WEIGHTS],
        "dyt": {"network": "dense(gamma*tanh(alpha*x) + beta)", "rows": dyt},
        "layer_norm": [propagation_row(n) for n in LAYER_NORM_NETWORKS],
    }


# --------------------------------------------------------------------------- report
def _verdicts(row: dict[str, Any]) -> str:
    claims = row.get("theorem1_analogue") or []
    bad = [c["name"].split(".")[1].split("[")[0] for c in claims if c["holds"] is not True]
    if not claims:
        return "—"
    return "holds" if not bad else "FALSE: " + ", ".join(bad)


def _extremum(row: dict[str, Any], claim: str) -> str:
    for c in row.get("theorem1_analogue") or []:
        if c["name"].startswith(f"theorem1_analogue.{claim}[") and c["extremum"]:
            e = c["extremum"]
            return f"[{e['lower']}, {e['upper']}]"
    return "—"


def report_lines(stage: NetworksStage | None, summary: str) -> list[str]:
    """REPORT.md's section on networks (numbers verbatim from ``tables.json``)."""
    lines = ["## Networks (docs/networks.md; README, \"Networks\")", ""]
    add = lines.append
    if stage is None:
        return [*lines, f"Not in this run ({summary}): `snn-theory reproduce` writes "
                f"`proofs/{NETWORKS_DIR}/`.", ""]
    t = stage.tables
    where = f"`{NETWORKS_DIR}/`"
    add(f"Certified enclosures (ball arithmetic, rounded outward), ω = 0 and τ = 1 unless a "
        f"block names its own; the Theorem 1 analogue (S < 1 and the map sends [−0.1, 0.1] × "
        f"[0.8, 1.5] into itself, on Theorem 1's Ω) decided by `verify-contraction --network "
        f"SPEC --theorem 1`, certificates in {where} re-checked by the checker "
        f"({sum(r.valid for r in stage.reports)}/{len(stage.reports)} valid); all numbers in "
        f"`{NETWORKS_DIR}/{TABLES_FILE}`.")
    add("")
    add("| network | Theorem 1 analogue | max S over Ω | S at (0, 1) | χ | ξ_c |")
    add("|---|---|---|---|---|---|")
    for row in t["alpha_dropout"] + [r for r in t["residual"] if "theorem1_analogue" in r]:
        add(f"| `{row['network']}` | {_verdicts(row)} | {_extremum(row, 'contraction')} | "
            f"{row['S_at_0_1']} | {row.get('chi', '—')} | {row.get('xi_c_at_0', '—')} |")
    add("")
    add("(max S: an enclosure of the maximum when the claim holds, a certified value ≥ 1 "
        "when it is refuted.)")
    add("")
    add("| residual W | χ | C′(0) | ξ_c | ξ_q |")
    add("|---|---|---|---|---|")
    for row in t["residual"]:
        add(f"| {row['weight']} | {row['chi']} | {row['c_map_slope_at_0']} | "
            f"{row['xi_c_at_0']} | {row['xi_q']} |")
    add("")
    add("| DyT α | γ | S at (0, 1) | attracting |")
    add("|---|---|---|---|")
    for row in t["dyt"]["rows"]:
        add(f"| {row['alpha']} | {row['gamma']} | {row['S_at_0_1']} | {row['attracting']} |")
    add("")
    add("| network | fixed point | χ | S at (0, 1) |")
    add("|---|---|---|---|")
    for row in t["layer_norm"]:
        fp = ("ν* → 0 (collapse)" if row["fixed_point"] is None
              else f"({row['fixed_point'][0]}, {row['fixed_point'][1]})")
        add(f"| `{row['network']}` | {fp} | {row.get('chi', '—')} | {row['S_at_0_1']} |")
    add("")
    if stage.figure is not None:
        add(f"![dropout_dyt](../figures/{stage.figure.name})")
        add("")
    return lines


__all__ = ["ALPHA_DROPOUT_RATES", "CLAIM_TOLERANCE", "DYT_ALPHAS", "LAYER_NORM_NETWORKS",
           "NETWORKS_DIR", "RESIDUAL_CLAIM_WEIGHTS", "RESIDUAL_TABLE_WEIGHTS", "TABLES_FILE",
           "NetworksStage", "alpha_dropout_network", "certified_tables", "propagation_row",
           "report_lines", "residual_network", "stage_networks"]
