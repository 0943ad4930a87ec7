"""Where a pool's workers run: as batch work, each worker of a process pool (with its guest) on
a share of the CPUs of its own.

A worker and its guest hand each input back and forth (the job, then its data) and work on the
same bytes. Left to the scheduler, on two cores with two workers, the four processes moved from
core to core, each wake-up crossing cores and the data with it; kept together on one core
each, `process` on 2,000 small files took 12% less time and 10% less CPU. Scheduled as batch
work (Linux's SCHED_BATCH: same priority, but a thread that wakes does not preempt the one
running), a guest woken by its next job no longer interrupts its worker for each input: 5%
less time and CPU again (docs/benchmarks.md). It also leaves interactive programs on
a shared server the first turn. The queue, not the scheduler, balances the work: a worker whose
CPUs are busy with something else claims fewer jobs, and the others take them.

A thread's affinity and policy are inherited by the threads and processes it starts, so
placing a worker's thread places its guest, its commit thread and its ZeroMQ thread too.
Linux only (elsewhere workers run as before); `worker_cpu_affinity = false` keeps the batch
policy but lets the scheduler move them.
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
def placed(cpus: frozenset[int] | None) -> Iterator[None]:
    """Run the calling thread (and what it starts meanwhile) as batch work, on `cpus` when
    given, then as before. A refusal (a CPU taken away since) leaves the thread as it was: it
    only runs slower."""
    if not hasattr(os, "SCHED_BATCH"):
        yield
        return
    policy = os.sched_getscheduler(0)
    affinity = os.sched_getaffinity(0)
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))  # 0: this thread
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
    except OSError as error:
        log.debug("worker not placed (CPUs %s): %s", sorted(cpus or ()), error)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, affinity)
            os.sched_setscheduler(0, policy, os.sched_param(0))
