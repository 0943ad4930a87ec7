"""`ProcessPool`: the executor whose N workers use N interpreters (worker_process.py).

The local pool's workers are threads of one process, so they share one interpreter lock: on two
cores, two of them ran no faster than one. Here the first worker is a thread of this process (a
one-worker local pool: no interpreter to start for it) and each other one a process of its own,
claiming from the queue like any other (the queue's claim is atomic across processes), with its
own warm guest, sink and heartbeats. This side starts them, relays their reports (and publishes
the jobs' changes on the service's bus, as the queue's facade would in-process) and passes
`stop` on. Workers claim as `{this process's pid}-1` (the one here) and `{pid}-{n}-1`: when
this process dies, the worker processes die with it and all their jobs are orphans
(queue.reset_orphans). A worker process that dies alone (killed, a bug) has its running jobs
given back to the queue here, and its last error output logged.

Only folder sinks are written by several processes at once (a part is a file of its own);
a database sink takes one writing process, so `process` keeps its workers in threads there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO

from casparian_core import children
from casparian_core.config import Settings
from casparian_core.db.gateway import Gateway
from casparian_core.jobs.cpu_shares import available_cpus, cpu_shares
from casparian_core.jobs.executor import JobReport, ReportCallback
from casparian_core.jobs.facade import JobQueue
from casparian_core.jobs.pool import LocalPool
from casparian_core.jobs.worker_process import ABANDON, STOP, decode_report
from casparian_core.jobs.worker_start import end_workers, start_worker
from casparian_core.registry.facade import Registry

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20
READ_BYTES = 1 << 16  # of a worker's reports at once: ~80 of them


class ProcessPool:
    """Takes the local pool's constructor, so that `process` and the daemon pick either."""

    def __init__(
        self,
        settings: Settings,
        db: Gateway,
        jobs: JobQueue,
        registry: Registry,
        clock: Callable[[], datetime],
        *,
        workers: int,
        sink_uri: str,
        offline: bool = False,
        on_report: ReportCallback | None = None,
        name: str = "pool",
        group: str | None = None,
        started: list[children.Child] | None = None,
    ) -> None:
        self._queue = jobs
        self._workers = workers
        self._name = name
        # Worker n runs on CPUs self._shares[n - 1] (cpu_shares.py).
        cpus = available_cpus() if settings.worker_cpu_affinity else None
        self._shares: list[frozenset[int] | None] = (
            [None] * workers if cpus is None else list(cpu_shares(cpus, workers))
        )
        # The first worker runs here, in a thread: one interpreter fewer to start.
        self._here = LocalPool(
            settings,
            db,
            jobs,
            registry,
            clock,
            workers=1,
            sink_uri=sink_uri,
            offline=offline,
            on_report=on_report,
            name=name,
            group=group,
            cpus=self._shares[0],
        )
        self._config = {
            "settings": settings.model_dump(mode="json"),
            "sink_uri": sink_uri,
            "offline": offline,
            "group": group,
        }
        self._on_report = on_report
        # Worker processes started earlier (start_worker): no more than it needs.
        self._started = list(started or [])
        self._children: list[children.Child] = []
        self._stop_command: str | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        names = [f"{self._name}-{n}" for n in range(2, self._workers + 1)]
        for name, cpus in zip(names, self._shares[1:], strict=True):
            child = self._started.pop() if self._started else start_worker()
            self._children.append(child)
            share = None if cpus is None else sorted(cpus)
            self._send(child, json.dumps({**self._config, "name": name, "cpus": share}))
            if self._stop_command is not None:
                self._send(child, self._stop_command)
        following = asyncio.gather(
            self._here.run(),
            *(
                self._follow(child, name, loop)
                for child, name in zip(self._children, names, strict=True)
            ),
        )
        try:
            await asyncio.shield(following)
        except asyncio.CancelledError:
            self.stop(abandon=True)  # they give their jobs back; then we are done
            await following
            raise
        finally:
            await asyncio.to_thread(end_workers, self._children)

    def stop(self, *, abandon: bool = False) -> None:
        self._here.stop(abandon=abandon)
        self._stop_command = ABANDON if abandon else STOP
        for child in self._children:
            self._send(child, self._stop_command)

    async def _follow(
        self, child: children.Child, name: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Relay the worker's reports until it ends; give back the jobs of one that died."""
        tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        errors = threading.Thread(target=_keep_tail, args=(child, tail), daemon=True)
        errors.start()
        await asyncio.to_thread(self._relay, child, loop)
        returncode = await asyncio.to_thread(child.wait)
        await asyncio.to_thread(errors.join)
        if returncode != 0:
            moved = await self._queue.reset_orphans(lambda worker: worker == f"{name}-1")
            log.warning(
                "worker process %d ended with status %d; %d of its jobs given back to the queue:"
                "\n%s",
                child.pid,
                returncode,
                len(moved),
                "".join(tail),
            )

    def _relay(self, child: children.Child, loop: asyncio.AbstractEventLoop) -> None:
        """Hand the worker's reports to the loop: those of one read (a worker writes a settle's
        reports at once) with one wake-up of it."""
        assert child.stdout is not None
        for lines in _line_batches(child.stdout):
            reports = [decode_report(line.decode()) for line in lines]
            loop.call_soon_threadsafe(self._deliver, reports)

    def _deliver(self, reports: list[JobReport]) -> None:
        for report in reports:
            self._queue.announce(report.job.job_id, report.status)
            if self._on_report is not None:
                self._on_report(report)

    @staticmethod
    def _send(child: children.Child, line: str) -> None:
        assert child.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):  # it ended: nothing to tell it
            child.stdin.write(line.encode() + b"\n")
            child.stdin.flush()


def _line_batches(stream: IO[bytes]) -> Iterator[list[bytes]]:
    """The stream's complete lines, as many at a time as one read brings (a line cut by the
    end of the stream is dropped: its writer died mid-line)."""
    partial = b""
    while chunk := os.read(stream.fileno(), READ_BYTES):
        *lines, partial = (partial + chunk).split(b"\n")
        if lines:
            yield lines


def _keep_tail(child: children.Child, tail: deque[str]) -> None:
    assert child.stderr is not None
    for line in child.stderr:
        tail.append(line.decode(errors="replace"))
