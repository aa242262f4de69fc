"""What the commands print contains the truth: for random decimal inputs, every certified
interval a command prints (text and JSON) contains an independent 40-digit value.

The references are computed here with mpmath (quadrature of the defining integrals, closed
forms, root finding), never with the package's formulas.  The inputs are decimals with
several digits, which float64 cannot hold: a number that took a detour through a float
(the scan of tests/test_doors.py) moves the printed ball off the value and fails here.
Few examples each: every one runs a command.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction

import mpmath
from flint import arb
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests._reference import quad_moments

with mpmath.workdps(40):  # (an mpf keeps the precision it was made at)
    LAM01 = mpmath.mpf("1.0507009873554804934193349852946")  # published to 32 digits
    ALPHA01 = mpmath.mpf("1.6732632423543772848170429916717")
    #: what the 32-digit constants leave uncertain in a moment (relative)
    SLACK = mpmath.mpf(10) ** -29

#: few examples, no shrinking (each example runs commands; a failure prints its inputs)
FAST = settings(max_examples=2, deadline=None, phases=(Phase.explicit, Phase.generate),
                suppress_health_check=[HealthCheck.function_scoped_fixture])
#: one example where the command or the reference takes seconds
ONE = settings(FAST, max_examples=1)


def decimals(lo: str, hi: str, places: int) -> st.SearchStrategy[str]:
    """Decimal strings in [lo, hi] with ``places`` decimals (the last digit nonzero, so the
    number is not a binary fraction)."""
    scale = 10**places
    a, b = int(Fraction(lo) * scale), int(Fraction(hi) * scale)
    return st.integers(a, b).filter(lambda n: n % 10 != 0).map(
        lambda n: _text(Fraction(n, scale), places))


def _text(x: Fraction, places: int) -> str:
    sign = "-" if x < 0 else ""
    n = abs(x.numerator * (10**places // x.denominator))
    return f"{sign}{n // 10**places}.{str(n % 10**places).rjust(places, '0')}"


def _mp(text: str) -> mpmath.mpf:
    return mpmath.mpf(Fraction(text).numerator) / Fraction(text).denominator


def in_ball(ball: str, value: mpmath.mpf, slack: object = 0) -> bool:
    """``value`` lies in arb's printed ball (up to ``slack`` relative)."""
    b = arb(ball)
    lo, hi = _mp_end(b, -1), _mp_end(b, 1)
    s = slack * (1 + abs(value))
    return lo - s <= value <= hi + s


def _mp_end(b: arb, side: int) -> mpmath.mpf:
    from snn_theory.exact import ball_endpoints

    lo, hi = ball_endpoints(b)
    x = hi if side > 0 else lo
    return mpmath.mpf(x.numerator) / x.denominator


def in_interval(lo: str, hi: str, value: mpmath.mpf, slack: object = 0
                ) -> bool:
    s = slack * (1 + abs(value))
    return _mp(lo) - s <= value <= _mp(hi) + s


# ------------------------------------------------------------------ map --backend arb
@FAST
@given(mu=decimals("-1", "1", 7), omega=decimals("-0.3", "0.3", 7),
       nu=decimals("0.5", "2", 7), tau=decimals("0.8", "1.3", 7))
def test_map_arb_balls_contain_the_moments(cli, mu, omega, nu, tau) -> None:
    code, out, err = cli(["map", "--mu", mu, "--omega", omega, "--nu", nu, "--tau", tau,
                          "--backend", "arb", "--digits", "20", "--json"])
    assert code == 0, err
    data = json.loads(out)
    with mpmath.workdps(40):
        m, v = _mp(mu) * _mp(omega), _mp(nu) * _mp(tau)
        mean, second = quad_moments(m, v, LAM01, ALPHA01)
        for key, value in (("mean", mean), ("second_moment", second),
                           ("variance", second - mean**2)):
            assert in_ball(data[key], value, SLACK), (key, data[key], value)


# ------------------------------------------------------------------ propagate
def _selu_fprime2(v: mpmath.mpf) -> mpmath.mpf:
    """E[selu′(z)²], z ~ N(0, v), by quadrature."""
    s = mpmath.sqrt(v)
    neg = mpmath.quad(lambda t: mpmath.exp(2 * s * t - t * t / 2), [-mpmath.inf, -8, 0])
    return LAM01**2 * (mpmath.mpf(1) / 2 + ALPHA01**2 * neg / mpmath.sqrt(2 * mpmath.pi))


@ONE
@given(tau=decimals("0.95", "1.2", 6), alpha=decimals("1.2", "2", 6))
def test_propagate_edge_and_fixed_point_balls_contain_the_values(cli, tau, alpha) -> None:
    code, out, err = cli(["propagate", "--tau", tau, "--edge-tau", tau, "--edge-alpha",
                          alpha, "--digits", "20", "--json"])
    assert code == 0, err
    data = json.loads(out)
    edge, lam_edge = data["edge_of_chaos_tau"][0], data["edge_of_chaos_lambda"][0]
    with mpmath.workdps(40):
        t = _mp(tau)

        def variance_gap(nu: mpmath.mpf) -> mpmath.mpf:  # ω = 0: the input mean is irrelevant
            mean, second = quad_moments(mpmath.mpf(0), nu * t, LAM01, ALPHA01)
            return second - mean**2 - nu

        nu_star = mpmath.findroot(variance_gap, mpmath.mpf(1))
        assert in_ball(data["fixed_point"]["nu"], nu_star, SLACK)
        assert in_ball(edge["nu_star"], nu_star, SLACK)
        nu_edge = mpmath.findroot(lambda nu: t * _selu_fprime2(nu * t) - 1, mpmath.mpf(1))
        assert in_ball(edge["nu"], nu_edge, SLACK)
        # λ with χ₁ = 1 at inputs (0, 1), τ = 1: E[f′²] is λ² times its value at λ = 1
        a = _mp(alpha)
        neg = mpmath.quad(lambda s: mpmath.exp(2 * s - s * s / 2), [-mpmath.inf, -8, 0])
        lam = 1 / mpmath.sqrt(mpmath.mpf(1) / 2 + a**2 * neg / mpmath.sqrt(2 * mpmath.pi))
        assert in_ball(lam_edge["lam"], lam, SLACK)
    # the fixed point of the edge and that of --tau are the same ball, at the τ typed
    assert edge["nu_star"] == data["fixed_point"]["nu"]
    assert edge["tau"] == tau and lam_edge["alpha"] == alpha
    # the text names the decimals as typed
    code, text, _ = cli(["propagate", "--tau", tau, "--edge-tau", tau, "--digits", "12"])
    assert code == 0 and f"tau = {tau}, chi1 = 1" in " ".join(text.split())


# ------------------------------------------------------------------ any activation
def _relu_mean(m: mpmath.mpf, v: mpmath.mpf) -> mpmath.mpf:
    """E[relu(z)], z ~ N(m, v): s·φ(m/s) + m·Φ(m/s), increasing in m and in v."""
    s = mpmath.sqrt(v)
    return s * mpmath.npdf(m / s) + m * mpmath.ncdf(m / s)


@FAST
@given(mu=decimals("-0.9", "-0.6", 4), omega=decimals("-0.35", "-0.1", 3),
       nu=decimals("1.5", "2", 4), tau=decimals("0.55", "0.7", 3))
def test_activation_bounds_contain_the_extremum(cli, tmp_path_factory, mu, omega, nu, tau):
    lo = [Fraction(x) for x in (mu, omega, nu, tau)]
    hi = [x + Fraction(1, 10) for x in lo]
    domain = ",".join(f"{n}={_text(a, 5)}:{_text(b, 5)}"
                      for n, a, b in zip(("mu", "omega", "nu", "tau"), lo, hi))
    with mpmath.workdps(40):
        # the mean of relu rises with m = μω and with v = ντ: its minimum is at the corner
        m_min = min(a * b for a in (lo[0], hi[0]) for b in (lo[1], hi[1]))
        true_min = _relu_mean(mpmath.mpf(m_min.numerator) / m_min.denominator,
                              mpmath.mpf((lo[2] * lo[3]).numerator) / (lo[2] * lo[3]).denominator)
        threshold = _text(Fraction(str(mpmath.nstr(true_min, 6))) - Fraction(1, 1000), 6)
        certs = tmp_path_factory.mktemp("certs")
        args = ["verify-contraction", "--activation", "relu", "--domain", domain,
                "--certificate-dir", certs, "-j", "1"]
        code, out, err = cli([*args, "--claim", f"mean>{threshold}", "--tolerance", "1e-6",
                              "--json"])
        assert code == 0, err
        ext = json.loads(out)["claims"][0]["extremum"]
        assert isinstance(ext["lower"], str) and in_interval(ext["lower"], ext["upper"], true_min)
        code, out, _ = cli([*args, "--claim", f"mean>{threshold}", "--tolerance", "1e-6"])
        flat = " ".join(out.split())
        lo_text, hi_text = re.search(r"min ∈ \[(\S+), (\S+)\]", flat).groups()
        assert _mp(lo_text) <= true_min and in_interval(lo_text, hi_text, true_min)
        (cert,) = certs.glob("*.cert.json")
        code, out, _ = cli(["check-certificate", cert, "-j", "1"])
        flat = " ".join(out.split())
        assert code == 0 and _mp(re.search(r"min ∈ \[(\S+), ", flat).group(1)) <= true_min
        # refuted: the counterexample's printed value contains the mean there
        above = _text(Fraction(str(mpmath.nstr(true_min, 6))) + Fraction(1, 1000), 6)
        code, out, _ = cli([*args, "--claim", f"mean>{above}", "--json"])
        assert code == 1
        ce = json.loads(out)["claims"][0]["counterexample"]
        p = [Fraction(ce[n]) for n in ("mu", "omega", "nu", "tau")]
        at = _relu_mean(mpmath.mpf((p[0] * p[1]).numerator) / (p[0] * p[1]).denominator,
                        mpmath.mpf((p[2] * p[3]).numerator) / (p[2] * p[3]).denominator)
        assert in_interval(*ce["value"], at) and _mp(ce["value"][1]) <= _mp(above)
        (refuted,) = [c for c in certs.glob("*.cert.json") if c != cert]
        code, out, _ = cli(["check-certificate", refuted, "-j", "1"])
        flat = " ".join(out.split())
        assert code == 0 and "FALSE for relu: mean > " in flat
        assert Fraction(re.search(r"mean > (\S+) on mu ∈", flat).group(1)) == Fraction(above)
        point = re.search(r"counterexample mu=(\S+), omega=(\S+), nu=(\S+), tau=(\S+),", flat)
        assert [Fraction(x) for x in point.groups()] == p  # the exact point
        value = re.search(r"value ∈ \[(\S+), (\S+)\]", flat).groups()
        assert in_interval(*value, at)


# ------------------------------------------------------------------ solve-constants
@ONE
@given(mean=decimals("-0.05", "0.05", 6), variance=decimals("0.9", "1.1", 6))
def test_solve_constants_intervals_contain_the_constants(cli, mean, variance) -> None:
    code, out, err = cli(["solve-constants", "--mean", mean, "--variance", variance,
                          "--digits", "30", "--json"])
    assert code == 0, err
    data = json.loads(out)
    with mpmath.workdps(40):
        mu, nu = _mp(mean), _mp(variance)

        def residual(lam: mpmath.mpf, alpha: mpmath.mpf) -> list[mpmath.mpf]:
            m, s = quad_moments(mpmath.mpf(0), nu, lam, alpha)  # ω = 0, τ = 1: z ~ N(0, ν)
            return [m - mu, s - m * m - nu]

        lam, alpha = mpmath.findroot(residual, (LAM01, ALPHA01))
        for key, value in (("lambda", lam), ("alpha", alpha)):
            d = data[key]
            assert in_interval(d["lower"], d["upper"], value, mpmath.mpf(10) ** -36), (key, d)


# ------------------------------------------------------------------ gain
_ACTIVATIONS = {
    "relu": lambda x: max(x, 0),
    "tanh": mpmath.tanh,
    "softplus": lambda x: mpmath.log1p(mpmath.exp(x)),
    "silu": lambda x: x / (1 + mpmath.exp(-x)),
}


@FAST
@given(name=st.sampled_from(sorted(_ACTIVATIONS)), scale=decimals("0.5", "3", 5),
       digits=st.integers(5, 25))
def test_gain_intervals_contain_the_gains(cli, name, scale, digits) -> None:
    code, out, err = cli(["gain", "--activation", name, "--scale", scale, "--digits",
                          str(digits), "--json"])
    assert code == 0, err
    data = json.loads(out)
    with mpmath.workdps(40):
        f = _ACTIVATIONS[name]
        c = _mp(scale)

        def moment(k: int) -> mpmath.mpf:
            return mpmath.quad(lambda z: (c * f(z)) ** k * mpmath.npdf(z), [-mpmath.inf, 0,
                                                                              mpmath.inf])

        m1, m2 = moment(1), moment(2)
        for key, value in (("variance_gain", 1 / mpmath.sqrt(m2 - m1 * m1)),
                           ("second_moment_gain", 1 / mpmath.sqrt(m2)), ("mean", m1),
                           ("second_moment", m2)):
            d = data[key]
            assert in_interval(d["lower"], d["upper"], value, mpmath.mpf(10) ** -35), (key, d)

