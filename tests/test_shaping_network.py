"""Kernel shaping for networks beyond chains: the network's C′(1), C″(1) derived from its
description against independent mpmath compositions (finite differences of the composed
C-map, the closed form ((1 − W²) + W²s)^L), the shaped ψ checked by 40-digit quadrature, a
chain equal to ``--depth``, certificates that record the network, bad networks refused."""

from __future__ import annotations

import json
from fractions import Fraction

import mpmath
import pytest
from flint import arb, fmpq

from snn_theory.certify import shaping
from snn_theory.certify.shaping_certificate import (
    check_shape_certificate,
    write_shaping_certificate,
)
from snn_theory.certify.shaping_network import (
    curvature_multiplier,
    local_slope,
    shaped_network,
    slope_curvature,
)
from snn_theory.derive import activations
from snn_theory.derive.network import Dense, Placeholder, parse_network
from snn_theory.errors import InputError
from snn_theory.precision import working_precision
from tests.test_shaped import tanh_and_derivatives


def _tanh():
    return activations.builtin("tanh")


# ----------------------------------------------------------------------------- the parser
def test_placeholder_is_typed_and_only_where_asked() -> None:
    net = parse_network("dense(psi), 2*residual(1/2, dense(PSI), dense(psi))", "psi")
    assert net.blocks[0] == Dense(Placeholder("psi"))
    assert net.spelling() == "dense(psi), 2*residual(0.5, dense(psi), dense(psi))"
    assert parse_network(net.spelling(), "psi") == net
    with pytest.raises(InputError):  # without the placeholder, psi is no activation
        parse_network("dense(psi)")
    with pytest.raises(InputError, match="placeholder"):
        parse_network("dense(tanh)", "tanh")  # a built-in name cannot be the placeholder


# ----------------------------------------------------------------------------- the rules
def _composed(spec: str, local):
    """The network's C-map composed independently (mpmath), from the description's blocks."""
    net = parse_network(spec, "psi")

    def run(blocks, c):
        for b in blocks:
            name = type(b).__name__
            if name == "Repeat":
                for _ in range(b.count):
                    c = run((b.block,), c)
            elif name == "Residual":
                w2 = mpmath.mpf(b.w.numerator) ** 2 / b.w.denominator ** 2
                c = (1 - w2) * c + w2 * run(b.branch, c)
            else:
                c = local(c)
        return c
    return lambda c: run(net.blocks, c)


@pytest.mark.parametrize("spec", [
    "3*residual(0.5, dense(psi))",
    "dense(psi), 2*residual(0.3, dense(psi), dense(psi)), residual(0.9, 2*dense(psi))",
])
def test_slope_and_curvature_against_finite_differences(spec) -> None:
    # a C-map with C(1) = 1 whose slope and curvature at 1 are not 1, 0: (c + c^2 + c^3)/3
    # has s = 2, k = 8/3 (coefficients >= 0, as every C-map's)
    s, k = Fraction(2), Fraction(8, 3)
    slope, curv = slope_curvature(shaped_network(spec).network.blocks, s, k)
    with mpmath.workdps(60):
        C = _composed(spec, lambda c: (c + c**2 + c**3) / 3)
        assert abs(C(mpmath.mpf(1)) - 1) < mpmath.mpf(10) ** -50
        d1 = mpmath.diff(C, 1, 1)
        d2 = mpmath.diff(C, 1, 2)
        assert abs(d1 - mpmath.mpf(slope.numerator) / slope.denominator) < 1e-40 * abs(d1)
        assert abs(d2 - mpmath.mpf(curv.numerator) / curv.denominator) < 1e-40 * abs(d2)


def test_curvature_multiplier_and_local_slope_closed_forms() -> None:
    assert curvature_multiplier(parse_network("dense(psi), 4*residual(0.3, dense(psi), "
                                              "dense(psi))", "psi")) == Fraction(172, 100)
    assert curvature_multiplier(parse_network("7*dense(psi)", "psi")) == 7
    # ((1 - W^2) + W^2 s)^L = zeta  =>  s = (zeta^(1/L) - (1 - W^2)) / W^2, at 40 digits
    sh = shaped_network("8*residual(0.5, dense(psi))")
    with working_precision(digits=45):
        ball, _ = local_slope(sh, Fraction(3, 2))
    with mpmath.workdps(50):
        s = (mpmath.power(mpmath.mpf(3) / 2, mpmath.mpf(1) / 8) - mpmath.mpf(3) / 4) * 4
        assert mpmath.mpf(ball.lower()) <= s <= mpmath.mpf(ball.upper())
        assert ball.rad() < 1e-40


@pytest.mark.parametrize("spec,match", [
    ("dense(tanh)", "shaped activation"),
    ("act(psi)", "cannot go into act"),
    ("dense(psi), alpha_dropout(0.1)", "built of"),
    ("dense(psi), layer_norm()", "built of"),
    ("residual(1.5, dense(psi))", "0 <= W <= 1"),
    ("dense(psi, tau=2)", "variance 1/fan-in"),
    ("residual(0, dense(psi))", "does not depend"),
])
def test_bad_networks_are_refused(spec, match) -> None:
    with pytest.raises(InputError, match=match):
        shaped_network(spec)


# ----------------------------------------------------------------------------- shaping
def _E(h, a, b, g, d):
    """E[h(ψ, ψ′, ψ″)] for ψ = γ(tanh(αz + β) + δ), z ~ N(0, 1), by mpmath.quad."""
    def f(z):
        t, t1, t2 = tanh_and_derivatives(a * z + b)
        return h(g * (t + d), g * a * t1, g * a * a * t2) * mpmath.npdf(z)
    return mpmath.quad(f, [-mpmath.inf, -3, 0, 3, mpmath.inf])


def _mid(result, key):
    return mpmath.mpf(result.parameters[key].mid())


@pytest.fixture(scope="module")
def dks_residual():
    sh = shaped_network("3*residual(0.5, dense(psi))")
    with working_precision(digits=50):
        return shaping.shape(_tanh(), "dks", sh.layers, {"zeta": Fraction(3, 2)}, sh)


def test_dks_residual_network_c_slope_is_zeta_at_40_digits(dks_residual) -> None:
    r = dks_residual
    assert r.shaped is not None and r.depth == 3
    with mpmath.workdps(50):
        p = [_mid(r, k) for k in ("input_scale", "input_shift", "output_scale",
                                  "output_shift")]
        q = _E(lambda u, u1, u2: u * u, *p)
        s = _E(lambda u, u1, u2: u1 * u1, *p) / q
        assert abs(q - 1) < mpmath.mpf(10) ** -40
        assert abs(_E(lambda u, u1, u2: u, *p)) < mpmath.mpf(10) ** -40  # C(0) = 0
        # the composed C-map's derivative at 1, in closed form
        network = (mpmath.mpf(3) / 4 + s / 4) ** 3
        assert abs(network - mpmath.mpf(3) / 2) < mpmath.mpf(10) ** -40
    with working_precision(digits=50):
        assert arb(fmpq(3, 2)) in r.network["c_slope"]
        assert r.network["c_slope"].rad() < 1e-40
    assert r.exact == {"c_zero": "0"}


def test_tat_network_curvature_by_quadrature() -> None:
    sh = shaped_network("dense(psi), 2*residual(0.5, dense(psi), dense(psi))")  # m = 2
    with working_precision(digits=25):
        r = shaping.shape(_tanh(), "tat", sh.layers, {"curvature": Fraction(3, 10)}, sh)
    with mpmath.workdps(30):
        p = [_mid(r, k) for k in ("input_scale", "input_shift", "output_scale",
                                  "output_shift")]
        q = _E(lambda u, u1, u2: u * u, *p)
        assert abs(_E(lambda u, u1, u2: u1 * u1, *p) / q - 1) < 1e-20  # local C'(1) = 1
        k = _E(lambda u, u1, u2: u2 * u2, *p) / q
        assert abs(2 * k - mpmath.mpf(3) / 10) < 1e-20
        # the network's C(0): the local C-map by its Mehler series (quadrature, 18 terms;
        # C(c) <= 0.2 here, so the tail weighs < 0.2^18), composed independently
        def he(n, z):  # He_{k+1} = z·He_k − k·He_{k−1}
            h0, h1 = mpmath.mpf(1), z
            for j in range(1, n):
                h0, h1 = h1, z * h1 - j * h0
            return h0 if n == 0 else h1

        a, b, g, d = p
        coeff = [mpmath.quad(lambda z, n=n: g * (mpmath.tanh(a * z + b) + d) * he(n, z)
                             * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf]) ** 2
                 / mpmath.factorial(n) for n in range(18)]
        C = _composed(sh.spelling(), lambda c: mpmath.fsum(x * c**n for n, x in
                                                           enumerate(coeff)) / q)
        c0 = C(mpmath.mpf(0))
    net = r.network
    lo, hi = (mpmath.mpf(x) for x in (net["c_zero"].lower(), net["c_zero"].upper()))
    assert lo - 1e-12 <= c0 <= hi + 1e-12
    with working_precision(digits=25):
        assert arb(fmpq(3, 10)) in net["c_curvature"]
    assert r.exact == {"c_slope": "1"}


def test_chain_network_equals_depth() -> None:
    sh = shaped_network("2*dense(psi), dense(psi)")
    assert sh.chain and sh.layers == 3
    with working_precision(digits=20):
        a = shaping.shape(_tanh(), "dks", 3, {"zeta": Fraction(3, 2)})
        b = shaping.shape(_tanh(), "dks", 3, {"zeta": Fraction(3, 2)}, sh)
    def same(x: arb, y: arb) -> bool:
        return (x.mid(), x.rad()) == (y.mid(), y.rad())

    assert set(a.parameters) == set(b.parameters)
    assert all(same(a.parameters[k], b.parameters[k]) for k in a.parameters)
    assert same(a.network["c_slope"], b.network["c_slope"]) and a.exact == b.exact
    assert all(same(x, y) for x, y in zip(a.box, b.box))


def test_certificate_records_and_rederives_the_network(dks_residual, tmp_path) -> None:
    path = tmp_path / "net.json"
    with working_precision(digits=50):
        write_shaping_certificate(dks_residual, path, 30)
    data = json.loads(path.read_text())
    assert data["network"] == "3*residual(0.5, dense(psi))"
    report = check_shape_certificate(path)
    assert report.valid, report.message
    assert "network 3*residual(0.5, dense(psi))" in report.message
    for edit in ("3*residual(0.6, dense(psi))", "residual(0.5, dense(psi)), 2*dense(psi)",
                 "3*residual(0.5, act(psi))"):
        data["network"] = edit
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(data))
        assert not check_shape_certificate(bad).valid, edit
