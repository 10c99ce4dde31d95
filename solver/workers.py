"""Worker processes for parallel solves (``dcopt solve -j``, sweeps): spawned, stopped at once, quiet on Ctrl-C.

Workers are spawned, never forked: a fork would copy HiGHS's thread pool of this process in an unusable state.
Ctrl-C reaches the whole process group; only this process must act on it (stop the workers, keep what is done),
so workers are born with SIGINT blocked: see :func:`submit`.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import signal
from collections.abc import Callable
from typing import Any


def spawn_pool(workers: int) -> cf.ProcessPoolExecutor:
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def spawn_manager():
    """A ``multiprocessing`` manager (for queues shared with workers), started with SIGINT blocked like them."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        manager = multiprocessing.get_context("spawn").Manager()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return manager


def submit(pool: cf.Executor, function: Callable[..., Any], *args: Any) -> cf.Future:
    """``pool.submit`` with SIGINT blocked meanwhile. A submit may start a worker, which inherits the blocked
    signal: a Ctrl-C during its seconds of start-up (importing scipy, pyomo) cannot print its traceback, and it
    never acts on one later. This process receives the Ctrl-C as soon as the submit returns."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return pool.submit(function, *args)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def terminate(pool: cf.ProcessPoolExecutor) -> None:
    """Stop the workers now rather than after their current solves, and wait for the pool to close its queues."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
