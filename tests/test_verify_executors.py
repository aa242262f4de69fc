"""The verifier's boxes run wherever the executor puts them: in this process, in local worker
processes or on a Dask cluster — with the same leaves, verdict, enclosure and certificate
bytes — and the search neither depends on nor changes the caller's arb precision (the
command's ``--scheduler``: tests/cli/test_verify_executors.py).

Independent checks: the certificate written from the cluster's run is re-verified by the
checker; the extremum enclosure is compared with a 30-digit mpmath evaluation.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import mpmath
import pytest
from flint import ctx

from snn_theory.certify.certificate.check import check_certificate
from snn_theory.certify.certificate.io import write_certificate
from snn_theory.certify.claims import Claim, Domain
from snn_theory.certify.search.executors import Executor
from snn_theory.certify.search.loop import verify_claim
from snn_theory.certify.search.result import ClaimResult
from snn_theory.certify.search.settings import Settings
from snn_theory.evaluate import backends

#: A claim on Theorem 1's domain that takes a few dozen boxes (J22 reaches ≈ 0.89176).
DOMAIN = "mu=-0.1:0.1,omega=-0.1:0.1,nu=0.8:1.5,tau=0.95:1.1"
CLAIM = Claim.parse("J22<0.892", Domain.parse(DOMAIN), name="tiny")


def _leaves(result: ClaimResult) -> list:
    return [(leaf.box, leaf.bound, leaf.bits) for leaf in result.leaves]


def _same(a: ClaimResult, b: ClaimResult) -> None:
    assert (a.verdict, a.extremum, a.witness, a.counterexample) == \
        (b.verdict, b.extremum, b.witness, b.counterexample)
    assert _leaves(a) == _leaves(b)


@pytest.fixture(scope="module")
def local_results() -> dict[int, ClaimResult]:
    """The claim decided locally, in this process (1) and in two worker processes (2)."""
    out = {}
    for jobs in (1, 2):
        with Executor(jobs) as executor:
            out[jobs] = verify_claim(CLAIM, Settings(jobs=jobs), executor)
    return out


def test_local_result_is_right(local_results: dict[int, ClaimResult]) -> None:
    r = local_results[1]
    assert r.verdict == "holds" and len(r.leaves) > 16  # it had to split
    lo, hi = r.extremum
    with mpmath.workdps(30):
        lam, alpha = backends.constants_function("mpmath")()
        j22 = backends.evaluator("mpmath", ("J22",))

        def value(point) -> mpmath.mpf:
            return j22(*(mpmath.mpf(x.numerator) / x.denominator for x in point), lam, alpha)[0]

        def mp(x: Fraction) -> mpmath.mpf:
            return mpmath.mpf(x.numerator) / x.denominator

        slack = mpmath.mpf(10) ** -25
        corners = [value(c) for c in itertools.product(*CLAIM.domain.bounds)]
        witness = value(r.witness[0])
        # the decided end bounds J22 at every corner; the witness attains the other end
        assert max(corners) <= mp(hi) + slack and hi < Fraction("0.892")
        assert mp(lo) - slack <= witness <= mp(hi) + slack


@pytest.mark.parametrize("threads", [1, 2])
def test_dask_cluster_gives_identical_result_and_certificate(
        threads: int, local_results: dict[int, ClaimResult], tmp_path) -> None:
    from distributed import Client, LocalCluster, get_task_stream

    local = local_results[threads]  # as many workers as the cluster has threads
    with LocalCluster(n_workers=1, threads_per_worker=threads, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        with Executor(scheduler=cluster.scheduler_address) as executor:
            assert executor.workers == threads
            with get_task_stream(client) as stream:
                remote = verify_claim(CLAIM, Settings(), executor)
    assert len(stream.data) > 0  # the boxes were computed on the cluster
    _same(local, remote)
    a = write_certificate(tmp_path / "local", local.certificate_data())
    b = write_certificate(tmp_path / "dask", remote.certificate_data())
    assert a.read_bytes() == b.read_bytes()
    report = check_certificate(b)
    assert report.valid and report.boxes == len(remote.leaves)


def test_search_neither_depends_on_nor_changes_the_callers_precision(
        local_results: dict[int, ClaimResult]) -> None:
    old = ctx.prec
    try:
        for bits in (30, 300):
            ctx.prec = bits
            r = verify_claim(CLAIM, Settings(jobs=1))
            assert ctx.prec == bits
            _same(r, local_results[1])
    finally:
        ctx.prec = old


def test_state_travels_with_the_task() -> None:
    """The per-box task is a pure function of its explicit state: two states for two claims
    evaluate the same box independently, in any order, with their own constants."""
    from snn_theory.certify.search.bounders import ClosedFormBounder, Constants
    from snn_theory.certify.search.workers import WorkerState, evaluate_box

    box = [(Fraction(0), Fraction(1, 10)), (Fraction(0), Fraction(1, 10)),
           (Fraction(13, 10), Fraction(3, 2)), (Fraction(1), Fraction(11, 10))]  # in the domain
    closed = WorkerState.for_claim(CLAIM, ClosedFormBounder(), 64)
    user = WorkerState.for_claim(CLAIM, ClosedFormBounder(Constants.parse("1.2", "1.8")), 64)
    first = evaluate_box(closed, box, 0)
    other = evaluate_box(user, box, 0)
    again = evaluate_box(closed, box, 0)
    assert first == again and other.bound != first.bound
