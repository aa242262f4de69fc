"""Where independent tasks run: in this process, in local worker processes, or on a Dask cluster.

One executor serves the branch-and-bound verifier (its boxes,
:mod:`snn_theory.certify.search.loop`) and the domain maps (their cells,
:mod:`snn_theory.certify.domains`).  A task is a top-level function applied to one picklable
argument; everything it needs travels with it (a :func:`functools.partial` of an explicit,
frozen state), nothing is read from worker-side globals, so a task computes the same thing
wherever it runs.  :meth:`Executor.map` returns the results in task order, hence a
deterministic computation gives identical results on every executor:

* ``jobs=1`` and no scheduler: every task in this process;
* ``jobs>1``: a pool of local processes, forked where the platform allows so that the workers
  inherit the evaluators compiled beforehand (:meth:`Executor.compile`); the workers leave
  Ctrl-C to the parent, which saves its state;
* ``scheduler="tcp://HOST:PORT"``: the tasks go, in chunks, to a Dask distributed cluster
  (its workers need snn-theory installed); an address that is malformed or does not answer
  within ``connect_timeout`` seconds is an :class:`~snn_theory.errors.InputError`.

python-flint's and mpmath's precisions are process-global, so tasks that share a process in
several threads (a Dask worker with ``--nthreads`` > 1, or a cluster inside this process) run
one at a time under :data:`ARB_LOCK`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from snn_theory.certify.search.bounders import compile_arb
from snn_theory.errors import InputError

#: Serialises arb work between threads of one process (the precisions are process-global).
ARB_LOCK = threading.RLock()


def connect(address: str, timeout: float = 5.0) -> Any:
    """A Dask client for ``address`` (``tcp://HOST:PORT``); InputError (one line) when the
    address is malformed, nothing answers within ``timeout`` seconds, or what answers is not
    a Dask scheduler (checked by a handshake before any client is made, so that a failed
    client never lingers)."""
    import re

    if not re.fullmatch(r"(tcp|tls|ws|wss|inproc)://\S+", str(address)):
        raise InputError(f"--scheduler {address!r}: expected an address like tcp://HOST:8786")
    import logging

    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    failure = None
    try:
        if not str(address).startswith("inproc://"):  # in-process clusters need no probe
            _probe(address, timeout)
        from distributed import Client

        return Client(address, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        failure = f"cannot reach the Dask scheduler at {address} within {timeout:g} s " \
                  f"({type(exc).__name__})"
    except Exception as exc:  # a garbled reply (even a MemoryError from a bogus length)
        failure = (f"what answers at {address} is not a Dask scheduler "
                   f"({type(exc).__name__})")
    raise InputError(failure)


def _probe(address: str, timeout: float) -> None:
    """Connect to ``address`` and ask for its identity; raises unless a Dask scheduler
    answers within ``timeout`` seconds."""
    import asyncio

    from distributed.comm import connect as open_comm

    async def ask() -> None:
        comm = await open_comm(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            reply = await asyncio.wait_for(comm.read(), timeout)
        finally:
            comm.abort()
        if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
            raise ConnectionError("the peer is not a Dask scheduler")

    asyncio.run(asyncio.wait_for(ask(), 2 * timeout))


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which saves the state."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _locked(fn: Callable[[Any], Any], task: Any) -> Any:
    with ARB_LOCK:
        return fn(task)


def _locked_chunk(fn: Callable[[Any], Any], chunk: Sequence[Any]) -> list[Any]:
    with ARB_LOCK:
        return [fn(task) for task in chunk]


class Executor:
    """Runs ``fn(task)`` for many independent tasks (see the module docstring).

    Args:
        jobs: local worker processes (1: this process); ignored with a scheduler.
        scheduler: a Dask scheduler address ``tcp://HOST:PORT``, or None for local work.
        connect_timeout: seconds to wait for the scheduler before an InputError.

    Use it as a context manager (or call :meth:`close`): the pool or the client is released
    at the end.
    """

    def __init__(self, jobs: int = 1, scheduler: str | None = None,
                 connect_timeout: float = 5.0):
        self.jobs = max(1, int(jobs))
        self.scheduler = scheduler
        self.pool: Any = None
        self.client: Any = None
        self._compiled: set[str] = set()
        self._pool_compiled: frozenset[str] = frozenset()
        self._threads = 1
        if scheduler is not None:
            self.client = connect(scheduler, connect_timeout)
            self._threads = max(1, sum(self.client.nthreads().values()))

    @property
    def workers(self) -> int:
        """How many tasks run at once: ``jobs`` locally, the cluster's threads (when it was
        connected) with a scheduler."""
        return self._threads if self.client is not None else self.jobs

    @property
    def local(self) -> bool:
        """Whether every task runs in this process."""
        return self.client is None and self.jobs == 1

    def compile(self, quantities: Iterable[str],
                prepare: Callable[[list[str]], None] | None = None) -> None:
        """Compile the evaluators of ``quantities`` where it helps — ``prepare(quantities)``,
        by default the closed forms' arb evaluators
        (:func:`snn_theory.certify.search.bounders.compile_arb`) — in this process for local
        work (a local pool forked earlier is restarted, so that its workers inherit them);
        not at all with a scheduler (each Dask worker compiles what it uses)."""
        if self.client is not None:
            return
        quantities = list(quantities)
        (prepare or compile_arb)(quantities)
        self._compiled.update(quantities)
        if self.pool is not None and not self._compiled <= self._pool_compiled:
            self._close_pool()

    def _local_pool(self) -> Any:
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self.pool = ProcessPoolExecutor(self.jobs,
                                            mp_context=multiprocessing.get_context(method),
                                            initializer=_ignore_sigint)
            self._pool_compiled = frozenset(self._compiled)
        return self.pool

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> list[Any]:
        """``[fn(t) for t in tasks]``, computed by this executor (results in task order)."""
        tasks = list(tasks)
        if self.client is not None:
            if not tasks:
                return []
            size = max(1, len(tasks) // (self.workers * 8))
            chunks = [tasks[i:i + size] for i in range(0, len(tasks), size)]
            futures = self.client.map(_locked_chunk, [fn] * len(chunks), chunks, pure=False)
            return [r for chunk in self.client.gather(futures) for r in chunk]
        if self.jobs == 1 or len(tasks) < 2:
            return [fn(t) for t in tasks]
        size = max(1, len(tasks) // (self.jobs * 8))
        return list(self._local_pool().map(fn, tasks, chunksize=size))

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any],
            done: Callable[[int, Any], None]) -> None:
        """Call ``done(k, fn(tasks[k]))`` for every task, as each one finishes (completion
        order; ``k`` says which task it was)."""
        if self.client is not None:
            from distributed import as_completed

            futures = {self.client.submit(_locked, fn, t, pure=False): k
                       for k, t in enumerate(tasks)}
            for fut in as_completed(list(futures)):
                done(futures[fut], fut.result())
        elif self.jobs > 1:
            from concurrent.futures import as_completed as cf_completed

            pool = self._local_pool()
            futures = {pool.submit(fn, t): k for k, t in enumerate(tasks)}
            for fut in cf_completed(futures):
                done(futures[fut], fut.result())
        else:
            for k, t in enumerate(tasks):
                done(k, fn(t))

    def _close_pool(self) -> None:
        # wait=True: the pending tasks are cancelled and the few running ones (workers ignore
        # Ctrl-C) finish, so the pool's feeder thread never writes into a pipe that exit has
        # closed (with wait=False a Ctrl-C could end in a stray OSError traceback on stderr)
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def close(self) -> None:
        """Release the local pool and the Dask client (the executor can be used again
        locally; a closed client is not reopened)."""
        self._close_pool()
        if self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["ARB_LOCK", "Executor", "connect"]
