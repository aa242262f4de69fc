"""Whether leaf boxes tile a domain exactly: the guillotine check, in exact integer arithmetic.

Shared by the certificate checker (a ``holds`` certificate's leaves must tile the claim's
domain) and by every consumer of saved boxes (the search's resume state, the paving and the
activation certificates), which must never take a box list on trust.  It uses no code of the
search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from snn_theory.derive.formulas import VARIABLE_NAMES


def tiling_error(domain: Sequence[tuple[Fraction, Fraction]],
                 boxes: Sequence[Sequence[tuple[Fraction, Fraction]]]) -> str | None:
    """None if ``boxes`` tile ``domain`` exactly (guillotine structure), else the reason.

    Coordinates are scaled to integers per dimension (exact).  A region holding one box
    must equal it; a region holding several must have a cut c in some dimension with every
    box entirely on one side (no box has lo < c < hi); no such cut means overlapping boxes
    (or a tiling that is not a guillotine one, which the search never produces).
    """
    dims = len(domain)
    scale = [math.lcm(*{x.denominator for b in boxes for x in b[d]}, *(x.denominator for x in domain[d]))
             for d in range(dims)] if boxes else [1] * dims
    ints = [tuple((int(b[d][0] * scale[d]), int(b[d][1] * scale[d])) for d in range(dims))
            for b in boxes]
    region0 = tuple((int(domain[d][0] * scale[d]), int(domain[d][1] * scale[d]))
                    for d in range(dims))
    for k, b in enumerate(ints):
        for d in range(dims):
            lo, hi = b[d]
            if not lo < hi:
                return f"box {k} is empty in {VARIABLE_NAMES[d]}"
            if lo < region0[d][0] or hi > region0[d][1]:
                return f"box {k} sticks out of the domain in {VARIABLE_NAMES[d]}"
    stack: list[tuple[tuple[tuple[int, int], ...], list[int]]] = [(region0, list(range(len(ints))))]
    while stack:
        region, members = stack.pop()
        if not members:
            return "gap: part of the domain is covered by no box"
        if len(members) == 1:
            if ints[members[0]] != region:
                return f"gap: box {members[0]} does not fill its region"
            continue
        split = None
        for d in range(dims):
            ordered = sorted(members, key=lambda k: ints[k][d][0])
            reach = region[d][0]
            for k in ordered:
                lo, hi = ints[k][d]
                if lo >= reach and reach > region[d][0]:
                    split = (d, reach)
                    break
                reach = max(reach, hi)
            if split:
                break
        if split is None:
            return "overlap: boxes overlap (no cut separates them)"
        d, c = split
        left = [k for k in members if ints[k][d][1] <= c]
        right = [k for k in members if ints[k][d][0] >= c]
        lo_region = tuple((lo, c) if i == d else (lo, hi) for i, (lo, hi) in enumerate(region))
        hi_region = tuple((c, hi) if i == d else (lo, hi) for i, (lo, hi) in enumerate(region))
        stack.append((lo_region, left))
        stack.append((hi_region, right))
    return None
