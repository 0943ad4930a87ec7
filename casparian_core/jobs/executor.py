"""The executor seam (issue 16 §9): what runs claimed jobs, whatever it runs them on.

An executor claims jobs from the queue, runs each through a `ParserSession`, completes or fails
it through `service.queue` (RunResult.transient deciding the retry class), and reports each
outcome. The local pool (pool.py) is the one implementation; a distributed one (Dask) takes its
place with the same queue semantics: claims, heartbeats, complete/fail/release.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from casparian_core.engine.results import RunResult
from casparian_core.jobs.model import ClaimedJob
from casparian_core.jobs.status import JobStatus


@dataclass(frozen=True)
class JobReport:
    """One run of a claimed job, and where the queue left the job after it."""

    job: ClaimedJob
    result: RunResult
    status: JobStatus  # COMPLETED*, QUEUED (a retry is due, or released), FAILED, DEAD_LETTER
    next_attempt_at: str | None = None  # when a retry is due
    paused_parser: bool = False  # this failure tripped the parser's circuit breaker
    log_path: str | None = None  # the job's log, when the guest logged anything


ReportCallback = Callable[[JobReport], object]


class Executor(Protocol):
    async def run(self) -> None:
        """Claim and run jobs until nothing is claimable any more (retries still due are
        waited for; paused parsers' and dead-lettered jobs are not), or until `stop`."""

    def stop(self, *, abandon: bool = False) -> None:
        """Claim nothing more. In-flight jobs finish and are reported; with `abandon`, they
        are stopped instead and released to the queue, nothing of them committed."""
