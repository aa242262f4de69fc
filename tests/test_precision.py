"""Working precision is a scoped context: :func:`snn_theory.precision.working_precision` sets
mpmath's and arb's precision for a block and restores both however the block ends, and no
other module of the package assigns either precision (they only read it)."""

from __future__ import annotations

import ast
from pathlib import Path

import mpmath
import pytest
from flint import arb, ctx

from snn_theory.precision import GUARD_BITS, digits_to_bits, working_precision

PACKAGE = Path(__file__).resolve().parents[1] / "snn_theory"


def _precision_assignments(tree: ast.AST) -> list[int]:
    """Lines assigning ``<x>.prec``/``<x>.dps`` (``ctx.prec = …``, ``mpmath.mp.dps = …``,
    tuple targets and augmented assignments included)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and t.attr in ("prec", "dps"):
                    lines.append(node.lineno)
    return lines


def test_the_scanner_sees_every_form_of_assignment() -> None:
    source = "ctx.prec = 1\nmpmath.mp.dps += 2\nmp.prec, x = 3, 4\nold = ctx.prec\n"
    assert _precision_assignments(ast.parse(source)) == [1, 2, 3]


def test_only_the_precision_module_sets_a_precision() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "precision.py" and path.parent == PACKAGE:
            continue
        for line in _precision_assignments(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    assert offenders == []


def test_block_sets_both_precisions_and_restores_them_on_error() -> None:
    before = (mpmath.mp.prec, ctx.prec)
    with pytest.raises(ZeroDivisionError):
        with working_precision(bits=200) as bits:
            assert bits == 200 and (mpmath.mp.prec, ctx.prec) == (200, 200)
            with working_precision(digits=30) as inner:
                assert inner == digits_to_bits(30) == 100 + GUARD_BITS  # ⌈30·log₂10⌉ = 100
                assert (mpmath.mp.prec, ctx.prec) == (inner, inner)
            assert (mpmath.mp.prec, ctx.prec) == (200, 200)
            raise ZeroDivisionError("the block ends with an error")
    assert (mpmath.mp.prec, ctx.prec) == before


def test_the_block_is_the_precision_arb_computes_with() -> None:
    """1/3 at 200 bits inside the block agrees with mpmath's 1/3 to 200 bits; outside, arb is
    back at the caller's precision (a wider ball)."""
    with working_precision(bits=200):
        third = arb(1) / 3
        exact = mpmath.mpf(1) / 3
        man, exp = third.mid().man_exp()
        assert abs(mpmath.mpf((int(man), int(exp))) - exact) <= mpmath.mpf(2) ** -200
    assert (arb(1) / 3).rad() > third.rad() * 2**100


def test_exactly_one_of_digits_or_bits() -> None:
    for kwargs in ({}, {"digits": 10, "bits": 40}):
        with pytest.raises(ValueError):
            with working_precision(**kwargs):
                pass
