"""Claims about a network's composed map: the per-box bound, the search, the certificate.

Independent references: the composed map of ``dense(selu), alpha_dropout(Q)`` written out
here in mpmath (the single layer's moments and H at 40 digits, the alpha-dropout formulas
of the paper, the chain rule by matrix product, S by mpmath's singular values) — none of the
network code; the gradient enclosures against central differences of that reference.
"""

from __future__ import annotations

import json
from fractions import Fraction as F
from pathlib import Path

import mpmath
import pytest
from flint import arb

from snn_theory.certify import enclosure
from snn_theory.certify.activation_claims import builtin_claims, theorem1_analogue
from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.certificate.io import checksum, write_certificate
from snn_theory.certify.claims import BUILTIN_CLAIMS, Claim, Domain
from snn_theory.certify.network_enclosure import (
    NetworkQuantity,
    box_quantity,
    is_single_layer,
    network_label,
)
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.network_bounder import NetworkBounder
from snn_theory.certify.search.settings import Settings
from snn_theory.derive.network import parse_network
from snn_theory.evaluate import moment_map
from snn_theory.precision import working_precision

NET = "dense(selu), alpha_dropout(0.1)"
BOX = [(F(-1, 20), F(-1, 40)), (F(1, 40), F(1, 20)), (F(9, 10), F(19, 20)), (F(1), F(41, 40))]
QUANTITIES = ("mean", "variance", "second_moment", "variance_change", "H11", "H12", "H21",
              "H22", "J21", "J22", "spectral_norm")


def _reference(point: list[F], q: F = F(9, 10)) -> dict[str, mpmath.mpf]:
    """The composed map of dense(selu), alpha_dropout(1 − q) at a point, in mpmath at 40
    digits, written out from the paper's alpha-dropout formulas."""
    with mpmath.workdps(40):
        mu, omega, nu, tau = (mpmath.mpf(x.numerator) / x.denominator for x in point)
        g = moment_map.closed_form_quantities(mu, omega, nu, tau, backend="mpmath",
                                quantities=("mean", "variance", "H11", "H12", "H21", "H22"))
        lam = mpmath.mpf("1.0507009873554804934193349852946")
        alpha = mpmath.mpf("1.6732632423543772848170429916717")
        qq = mpmath.mpf(q.numerator) / q.denominator
        ap = -lam * alpha
        a = 1 / mpmath.sqrt(qq * ((1 - qq) * ap**2 + 1))
        b = -a * (1 - qq) * ap
        m, v = g["mean"], g["variance"]
        mean = a * (qq * m + (1 - qq) * ap) + b
        var = a**2 * (qq * v + qq * (1 - qq) * (m - ap) ** 2)
        A = mpmath.matrix([[a * qq, 0], [2 * a**2 * qq * (1 - qq) * (m - ap), a**2 * qq]])
        H = mpmath.matrix([[g["H11"], g["H12"]], [g["H21"], g["H22"]]])
        M = A * H
        s = max(mpmath.svd_r(M, compute_uv=False))
        return {"mean": mean, "variance": var, "second_moment": var + mean**2,
                "variance_change": var - nu, "H11": M[0, 0], "H12": M[0, 1],
                "H21": M[1, 0], "H22": M[1, 1], "J21": M[1, 0] + 2 * mean * M[0, 0],
                "J22": M[1, 1] + 2 * mean * M[0, 1], "spectral_norm": s}


def _points(box: list[tuple[F, F]]) -> list[list[F]]:
    corners = [[box[i][(k >> i) & 1] for i in range(4)] for k in (0, 5, 10, 15)]
    return [*corners, [(lo + hi) / 2 for lo, hi in box]]


@pytest.mark.parametrize("quantity", QUANTITIES)
def test_box_bounds_contain_the_reference_map(quantity: str) -> None:
    q = NetworkQuantity(NET, quantity)
    assert q.has_gradient
    with working_precision(bits=64):
        hi, _ = enclosure.bound_of(q, BOX, 1)
        lo, _ = enclosure.bound_of(q, BOX, -1)
    refs = [_reference(p)[quantity] for p in _points(BOX)]
    for r in refs:
        assert lo <= F(mpmath.nstr(r, 30)) <= hi
    # useful: the bounds exceed the sampled values by less than their spread (plus a little)
    spread = float(max(refs) - min(refs)) + 1e-3
    assert float(hi) - float(max(refs)) < spread
    assert float(min(refs)) - float(lo) < spread


@pytest.mark.parametrize("quantity", ("mean", "variance", "spectral_norm"))
def test_gradient_enclosure_contains_central_differences(quantity: str) -> None:
    q = NetworkQuantity(NET, quantity)
    with working_precision(bits=64):
        balls = [enclosure.interval_ball(lo, hi) for lo, hi in BOX]
        _, grad = q.value_and_gradient(balls)
    centre = [(lo + hi) / 2 for lo, hi in BOX]
    h = F(1, 10**8)
    for i in range(4):
        up, down = list(centre), list(centre)
        up[i] += h
        down[i] -= h
        with mpmath.workdps(40):
            diff = (_reference(up)[quantity] - _reference(down)[quantity]) * 10**8 / 2
        # the central difference is the derivative at the centre to O(h²) = O(1e-16)
        assert abs(float(grad[i].mid()) - float(diff)) <= float(grad[i].rad()) + 1e-12


def test_one_dense_selu_is_the_single_layer_box_for_box() -> None:
    assert is_single_layer(parse_network("dense(selu)"))
    assert not is_single_layer(parse_network("dense(selu, tau=1)"))
    claim = BUILTIN_CLAIMS["theorem1.variance_upper"]
    one = verify_claim(claim, Settings(jobs=1))
    net = verify_claim(claim, Settings(jobs=1, bounder=NetworkBounder.of("dense(selu)")))
    assert net.verdict == one.verdict == "holds"
    assert [(x.box, x.bound, x.bits) for x in net.leaves] == [
        (x.box, x.bound, x.bits) for x in one.leaves]
    assert net.extremum == one.extremum
    # and the network's own (dual) bound of the same layer encloses the same values
    with working_precision(bits=64):
        lam, alpha = moment_map.default_constants("arb")
        single = enclosure.bound("spectral_norm", BOX, lam, alpha, 1)[0]
        composed = enclosure.bound_of(NetworkQuantity("dense(selu)", "spectral_norm"), BOX, 1)[0]
    value = moment_map.closed_form_quantities(*(str(float(lo)) for lo, _ in BOX), backend="mpmath",
                                quantities=("spectral_norm",))["spectral_norm"]
    assert float(value) <= float(single) and float(value) <= float(composed)
    # the composed route (duals, each layer's centred form) is no looser than the layer's
    assert float(composed) <= float(single) + 1e-3


def test_box_quantity_routes_one_layer_to_its_formulas() -> None:
    lam, alpha = arb(1), arb(2)
    assert isinstance(box_quantity(None, "mean", lam, alpha), enclosure.FormulaQuantity)
    assert isinstance(box_quantity("dense(selu)", "mean", lam, alpha),
                      enclosure.FormulaQuantity)
    assert isinstance(box_quantity(parse_network(NET).spelling(), "mean", lam, alpha),
                      NetworkQuantity)


def test_network_without_gradient_uses_the_whole_box_enclosure() -> None:
    q = NetworkQuantity("dense(selu), act(tanh)", "mean")
    assert not q.has_gradient
    box = [(F(0), F(1, 100)), (F(0), F(1, 100)), (F(1), F(101, 100)), (F(1), F(101, 100))]
    with working_precision(bits=64):
        hi, _ = enclosure.bound_of(q, box, 1)
        lo, _ = enclosure.bound_of(q, box, -1)
        at = q.point_value([F(1, 200), F(1, 200), F(201, 200), F(201, 200)])
    assert lo <= enclosure.lower(at) <= enclosure.upper(at) <= hi
    assert hi - lo < F(1, 10)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bounder = NetworkBounder.of(NET)
    claim = builtin_claims("1", bounder)[4]  # variance <= 1.5: 16 boxes
    assert claim.name.startswith("theorem1_analogue.variance_upper[net-")
    result = verify_claim(claim, Settings(jobs=1, bounder=bounder))
    assert result.verdict == "holds"
    path = write_certificate(tmp_path_factory.mktemp("net"), result.certificate_data())
    assert path is not None
    return path


def _other_network(content: dict, spelling: str) -> None:
    content["network"] = {"spelling": spelling}
    content["claim"]["name"] = content["claim"]["name"].replace(network_label(NET),
                                                                network_label(spelling))


def _tampered(path: Path, tmp: Path, change) -> Path:
    content = json.loads(path.read_text())
    change(content)
    content["checksum"] = checksum(content)
    out = tmp / path.name
    out.write_text(json.dumps(content))
    return out


def test_certificate_records_the_network_and_is_rechecked(certificate: Path) -> None:
    content = json.loads(certificate.read_text())
    assert content["network"] == {"spelling": "dense(selu), alpha_dropout(0.1)"}
    assert "constants" not in content and "activation" not in content
    report = check_certificate(certificate)
    assert report.valid, report.message
    assert report.statement["network"] == "dense(selu), alpha_dropout(0.1)"
    assert "for the network dense(selu), alpha_dropout(0.1)" in report.line()
    assert report.statement["builtin"] is None


@pytest.mark.parametrize("change, why", [
    # another network, named as that network's claim: its boxes are recomputed
    (lambda c: _other_network(c, "dense(selu), alpha_dropout(0.2)"), "witness|box"),
    (lambda c: _other_network(c, "dense(selu)"), "witness|box"),
    (lambda c: c.update(constants={"source": "closed-form"}), "exactly one"),
    (lambda c: c.update(network={"spelling": "dense(selu),alpha_dropout(0.1)"}), "canonical"),
    (lambda c: c.update(network={"spelling": "dense(selu), nonsense(1)"}), "network"),
    (lambda c: c.update(network={"spelling": 7}), "network"),
    (lambda c: c.update(network="dense(selu), alpha_dropout(0.1)"), "network"),
    (lambda c: c["network"].update(omega="0"), "unknown key"),
    (lambda c: c["boxes"][3].__setitem__(4, str(F(c["boxes"][3][4]) - F(1, 10**6))), "box 3"),
    (lambda c: c["boxes"][0][2].__setitem__(1, "0.9"), "tile"),
    (lambda c: c["claim"].update(name="theorem1.variance_upper"), "built-in"),
    # the name carries another network's label: a claim of this network must not pass as
    # the other's (as its Theorem 1 analogue, or under a look-alike spelling of the label)
    (lambda c: c["claim"].update(name=c["claim"]["name"].replace(
        network_label(NET), network_label("dense(selu), alpha_dropout(0.2)"))), "net-"),
    (lambda c: c["claim"].update(name=c["claim"]["name"].replace(
        network_label(NET), network_label("dense(selu)").upper())), "net-"),
])
def test_tampered_network_certificates_are_rejected(certificate: Path, tmp_path: Path,
                                                    change, why: str) -> None:
    report = check_certificate(_tampered(certificate, tmp_path, change))
    assert not report.valid
    assert any(w in report.message for w in why.split("|")), report.message


def test_theorem1_analogue_claims_are_named_per_network() -> None:
    one, two = NetworkBounder.of(NET), NetworkBounder.of("dense(selu), alpha_dropout(0.2)")
    a = builtin_claims("1", one)
    b = builtin_claims("1", two)
    assert [c.statement_key for c in a] == [c.statement_key for c in theorem1_analogue()]
    assert {c.name for c in a}.isdisjoint(c.name for c in b)
    assert all("[net-" in c.name for c in a)
    assert NetworkBounder.of("dense(selu),alpha_dropout(1/10)") == one  # canonical


def test_refuted_network_claim_has_a_checked_counterexample(tmp_path: Path) -> None:
    claim = Claim.parse("spectral_norm<0.626", Domain.parse(
        "mu=-0.01:0.01,omega=-0.01:0.01,nu=0.99:1.01,tau=0.99:1.01"), name="user.s")
    result = verify_claim(claim, Settings(jobs=1, bounder=NetworkBounder.of(NET),
                                          max_boxes=2000))
    # S at (0, 0, 1, 1) is 0.62606… > 0.626 (docs/networks.md)
    assert _reference([F(0), F(0), F(1), F(1)])["spectral_norm"] > mpmath.mpf("0.626")
    assert result.verdict == "refuted"
    point = result.counterexample[0]
    assert _reference(point)["spectral_norm"] >= mpmath.mpf("0.626")
    path = write_certificate(tmp_path, result.certificate_data())
    report = check_certificate(path)
    assert report.valid and report.verdict == "refuted", report.message


def _two_layers(point: list[F]) -> mpmath.mpf:
    """S of 2*dense(selu) at a point, composed here in mpmath from the single layer."""
    with mpmath.workdps(30):
        mu, omega, nu, tau = (mpmath.mpf(x.numerator) / x.denominator for x in point)
        names = ("mean", "variance", "H11", "H12", "H21", "H22")
        one = moment_map.closed_form_quantities(mu, omega, nu, tau, backend="mpmath", quantities=names)
        two = moment_map.closed_form_quantities(one["mean"], omega, one["variance"], tau, backend="mpmath",
                                  quantities=names)
        h = [mpmath.matrix([[g["H11"], g["H12"]], [g["H21"], g["H22"]]]) for g in (one, two)]
        return max(mpmath.svd_r(h[1] * h[0], compute_uv=False))


def test_two_layers_over_a_box_stay_tight() -> None:
    """Each layer's values are intersected with its centred form in its inputs; without it
    the second layer's balls made this bound 1.33 (S ≤ 0.81 there)."""
    box = [(F(-1, 10), F(-1, 20)), (F(-1, 10), F(-1, 20)), (F(4, 5), F(17, 20)), (F(1), F(21, 20))]
    with working_precision(bits=64):
        hi, _ = enclosure.bound_of(NetworkQuantity("2*dense(selu)", "spectral_norm"), box, 1)
    values = [_two_layers(p) for p in _points(box)]
    assert F(mpmath.nstr(max(values), 25)) <= hi
    assert hi < F(9, 10)
