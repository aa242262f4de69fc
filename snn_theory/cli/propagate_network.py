"""``snn-theory propagate --network SPEC``: signal propagation through a whole network at the
certified fixed point of its (μ, ν) map (docs/networks.md, "Propagation").

    snn-theory propagate --network "residual(0.5, dense(selu))"
    snn-theory propagate --network "dense(selu), alpha_dropout(0.1)" --json
    snn-theory propagate --network "dense(selu), layer_norm()" --correlation 0.5

Printed: the fixed point (μ*, ν*) (Krawczyk), χ of the network (the product of the blocks'
gradient factors; residual blocks (1 − W²) + W²·χ_branch) and its mean part, the phase,
∂ν̃/∂ν and ξ_q, the network's c-map C (the composition of the blocks' correlation maps) with
its fixed points, slopes and depth scales ξ_c = −1/ln C′(c*), the proof that there are no
others, C(1) (below 1 with dropout: independent masks), and each block's factors.  Exit codes
as ``propagate``: 2 bad input, 3 not certified (a collapse to ν* = 0 among them).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from flint import arb

from snn_theory.cli.propagation_text import (
    ball_formatter,
    claim_json,
    cmap_json,
    print_claim,
    print_phase,
)
from snn_theory.errors import InputError
from snn_theory.exact import SHORT_DIGITS, format_fraction, parse_exact


def check_network_options(*, lam: str | None, alpha: str | None, edge_tau: str | None,
                          edge_alpha: str | None, activation: str, scale: str,
                          shift: str) -> None:
    """:class:`InputError` for the options of ``propagate`` that a network spells in its
    blocks (or that exist for one layer only)."""
    if lam is not None or alpha is not None:
        raise InputError("--lam/--alpha are not used with --network (the blocks use λ01, α01)")
    if edge_tau or edge_alpha:
        raise InputError("--edge-tau/--edge-alpha are the single layer's edge of chaos; "
                         "not with --network")
    if (activation, scale, shift) != ("selu", "1", "0"):
        raise InputError("with --network each block names its activation: use "
                         "dense(ACT) or act(ACT), not --activation/--scale/--shift")


def run_network(network: str, *, omega: str, tau: str, prec: int, digits: int,
                correlation: str | None, claim: str | None, as_json: bool) -> None:
    """The ``--network`` half of ``snn-theory propagate`` (options checked by the caller;
    :class:`ArithmeticError` propagates to the caller's exit 3)."""
    from snn_theory.certify.propagation.network import network_correlation, propagate_network

    c = None if correlation is None else parse_exact(correlation, "--correlation")
    if c is not None and not -1 <= c <= 1:
        raise InputError(f"--correlation must lie in [-1, 1] (got {correlation!r})")
    result = propagate_network(network, omega=omega, tau=tau, prec=prec)
    extra = None if c is None else (c, *network_correlation(result, c))
    verdict = None
    if claim is not None:
        phase = result.phase
        holds = None if phase.phase == "undecided" else phase.phase == claim
        verdict = (holds, phase.certificate)
    if as_json:
        json.dump(network_json(result, digits, extra, claim, verdict), sys.stdout)
        sys.stdout.write("\n")
    else:
        _print(network_json(result, digits, extra, claim, verdict, short=True))
    if verdict is not None:
        sys.exit({True: 0, False: 1, None: 3}[verdict[0]])


def network_json(r: Any, digits: int, extra: tuple[Any, arb, arb] | None = None,
            claim: str | None = None, verdict: tuple[bool | None, str] | None = None,
            short: bool = False) -> dict[str, Any]:
    """A :class:`~snn_theory.certify.propagation.network.NetworkPropagation` as JSON: arb
    balls at ``digits`` digits, or (``short``) outward-rounded enclosures for the table."""

    b = ball_formatter(digits, short)
    out: dict[str, Any] = {
        "network": r.network.spelling(),
        "omega": b(r.omega),
        "tau": b(r.tau),
        "fixed_point": {"mu": b(r.mu_star), "nu": b(r.nu_star),
                        "certified": "Krawczyk test in arb"},
        "chi": b(r.chi),
        "chi_mean": b(r.chi_mean),
        **cmap_json(r, b),
        "c_map_at_one": b(r.c_map_at_one),
        "depth_scale_q": b(r.depth_scale_q),
        "depth_scale_q_note": "" if r.depth_scale_q is not None
        else "none: 0 < |dnu~/dnu| < 1 is not proven at the fixed point",
        "dnu_dnu": b(r.dnu_dnu),
        "blocks": [
            {"position": f.position, "block": f.block, "mu": b(f.mu), "nu": b(f.nu),
             "chi": b(f.chi), "c_slope_at_0": b(f.slope_at_zero),
             "c_slope_at_1": b(f.slope_at_one)}
            for f in r.blocks
        ],
        "precision_bits": r.prec,
        "definition": "chi = growth of the squared gradient norm through the network (product "
        "of the blocks' factors); c = centred correlation Cov(x_a, x_b)/nu over units; C = "
        "the network's c-map (composition of the blocks'); dropout masks independent "
        "between the two inputs",
    }
    if extra is not None:
        c, value, slope = extra
        out["correlation"] = {"c": format_fraction(c), "c_map": b(value), "slope": b(slope)}
    if claim is not None and verdict is not None:
        out["claim"] = claim_json(claim, verdict)
    return out


def _print(out: dict[str, Any]) -> None:
    from snn_theory.cli.console import print_table

    rows = [
        ("fixed point μ*", out["fixed_point"]["mu"]),
        ("fixed point ν*", out["fixed_point"]["nu"]),
        ("χ of the network", out["chi"]),
        ("mean part", out["chi_mean"]),
        ("∂ν̃/∂ν", out["dnu_dnu"]),
        ("ξ_q = −1/ln|∂ν̃/∂ν|", out["depth_scale_q"] or out["depth_scale_q_note"]),
        ("C(1)", out["c_map_at_one"]),
    ]
    for f in out["correlation_fixed_points"]:
        stable = {True: "stable", False: "unstable", None: "undecided"}[f["stable"]]
        rows.append((f"c* = {f['c']}: slope C′ ({stable})", f["slope"]))
        rows.append((f"c* = {f['c']}: ξ_c = −1/ln C′", f["depth_scale"] or f["depth_scale_note"]))
    if "correlation" in out:
        c = out["correlation"]
        rows += [(f"C({c['c']})", c["c_map"]), (f"C′({c['c']})", c["slope"])]
    for blk in out["blocks"]:
        rows.append((f"{blk['position']} {blk['block']}: χ factor", blk["chi"]))
    print_table(f"Signal propagation through {out['network']} at the certified fixed point "
                f"(omega = {out['omega']}, tau = {out['tau']}; {out['precision_bits']} bits)",
                ("quantity", f"enclosure ({SHORT_DIGITS} significant digits, rounded "
                             "outward; --json: every digit)"),
                [(str(name), str(value)) for name, value in rows])
    print_phase(out, "the network's")
    print_claim(out)


__all__ = ["check_network_options", "run_network", "network_json"]
