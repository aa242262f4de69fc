"""Bounds beyond the certificate format's range (nonzero magnitudes in [1e-50, 1e50]): the
search's resume state and the certificate writer must not fail with a traceback or write a
certificate its own checker rejects."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from snn_theory.certify.claims import Claim, Domain
from snn_theory.certify.search.loop import verify_claims
from snn_theory.certify.search.network_bounder import NetworkBounder
from snn_theory.certify.search.settings import Settings
from snn_theory.certify.search.workers import Evaluated


def test_a_huge_bound_is_saved_in_the_resume_state() -> None:
    # a wide box's enclosure may be finite but far beyond 1e4300 (str() of such an int fails)
    box = [(F(0), F(1))] * 4
    huge = F(10) ** 5000 + F(1, 3)
    item = Evaluated(box, huge, box, 64, 0, [F(1, 2)] * 4, -huge, huge)
    back = Evaluated.from_json(item.to_json())
    assert back.box == box and back.depth == 0  # what a resumed run takes from the state
    assert back.bound is None and back.point_lo is None  # never evidence: re-derived


def test_a_value_beyond_the_format_range_writes_no_certificate(tmp_path) -> None:
    # 400 inverted dropouts at Q = 0.999 multiply the variance by about 1000 ** 400: the claim
    # holds (ball arithmetic), but its bounds cannot be written in the format's rationals
    claim = Claim.parse("variance>0", Domain.parse("mu=0:0.01,omega=0:0.01,nu=1:1.01,tau=1:1.01"),
                        name="huge")
    settings = Settings(jobs=1, bounder=NetworkBounder.of("dense(selu), 400*dropout(0.999)"))
    with pytest.raises(ArithmeticError, match="outside the certificate format"):
        verify_claims([claim], settings, tmp_path)
    assert not list(tmp_path.glob("*.json*"))
