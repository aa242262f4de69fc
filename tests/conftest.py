"""Suite-wide invariants."""

import pytest
from flint import ctx


@pytest.fixture(autouse=True)
def _arb_precision_is_restored(request: pytest.FixtureRequest):
    """python-flint's precision is process-global: no library call may change the caller's
    (every function sets its own precision in a scope and restores it), so that no result
    depends on what ran before it."""
    before = ctx.prec
    yield
    after = ctx.prec
    ctx.prec = before
    if after != before:
        pytest.fail(f"{request.node.nodeid} left arb's precision at {after} bits (was {before})")
