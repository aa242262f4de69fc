"""Working precision as a context (mpmath and python-flint both keep a global one).

    with working_precision(digits=50):
        ...  # mpmath and arb evaluate with ≥ 50 significant digits (+ guard bits)

python-flint's ``ctx.prec`` is process-global: the verifier and the certificate checker
evaluate every box inside this context at the precision they record, so their worker
processes need no set-up and the caller's precision is never changed (threads sharing a
process must not interleave such blocks; see
:data:`snn_theory.certify.search.executors.ARB_LOCK`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import mpmath
from flint import ctx

#: Guard bits added on top of the requested decimal digits.
GUARD_BITS = 20


def digits_to_bits(digits: int) -> int:
    """Binary precision carrying ``digits`` decimal digits plus guard bits."""
    return int(math.ceil(digits * math.log2(10))) + GUARD_BITS


@contextmanager
def working_precision(digits: int | None = None, bits: int | None = None) -> Iterator[int]:
    """Set mpmath's and arb's precision for the duration of the block; yields the bits."""
    if (digits is None) == (bits is None):
        raise ValueError("give exactly one of digits= or bits=")
    prec = bits if bits is not None else digits_to_bits(int(digits))
    old_mp, old_arb = mpmath.mp.prec, ctx.prec
    mpmath.mp.prec = prec
    ctx.prec = prec
    try:
        yield prec
    finally:
        mpmath.mp.prec = old_mp
        ctx.prec = old_arb
