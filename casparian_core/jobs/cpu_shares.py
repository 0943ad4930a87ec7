"""Each worker of a process pool, with its guest, on a share of the CPUs of its own.

A worker and its guest hand each input back and forth (the job, then its data) and work on the
same bytes. Left to the scheduler, on two cores with two workers, the four processes moved from
core to core, each wake-up crossing cores and the data with it; kept together on one core
each, `process` on 2,000 small files took 12% less time and 10% less CPU (docs/benchmarks.md).
The queue, not the scheduler, balances the work: a worker whose CPUs are busy with something
else claims fewer jobs, and the others take them. A thread's affinity is inherited by the
threads and processes it starts, so pinning a worker's thread pins its guest, its commit
thread and its ZeroMQ thread too. Linux only (elsewhere nothing is pinned); the setting
`worker_cpu_affinity` turns it off.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Collection, Iterator

log = logging.getLogger(__name__)


def available_cpus() -> frozenset[int] | None:
    """The CPUs this process may run on; None where affinity cannot be set."""
    if not hasattr(os, "sched_getaffinity") or not hasattr(os, "sched_setaffinity"):
        return None
    return frozenset(os.sched_getaffinity(0))


def cpu_shares(cpus: Collection[int], workers: int) -> list[frozenset[int]]:
    """`workers` shares of `cpus`: disjoint and as even as may be, each of neighbouring CPUs
    (which often share a cache); with more workers than CPUs, one CPU each, in turn."""
    ordered = sorted(cpus)
    if workers >= len(ordered):
        return [frozenset({ordered[n % len(ordered)]}) for n in range(workers)]
    size, larger = divmod(len(ordered), workers)
    shares, start = [], 0
    for n in range(workers):
        end = start + size + (1 if n < larger else 0)
        shares.append(frozenset(ordered[start:end]))
        start = end
    return shares


@contextlib.contextmanager
def pinned(cpus: frozenset[int] | None) -> Iterator[None]:
    """Run the calling thread (and what it starts meanwhile) on `cpus`, then as before. A
    refusal (a CPU taken away since) leaves the thread where it was: it only runs slower."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, cpus)  # 0: this thread, on Linux
    except OSError as error:
        log.debug("worker not pinned to CPUs %s: %s", sorted(cpus), error)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, before)
