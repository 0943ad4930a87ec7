"""`JobQueue`: the job queue's API, reached as `CoreService.queue`.

What the Jobs CLI and screen need (counts, lists, one job, retry, cancel, replay, dead letters,
error fingerprints, the circuit breaker) and what a worker pool calls (claim, heartbeat,
complete, fail, release, the zombie sweep, the orphan reset). Every call runs on the process's
database gateway off the event loop, and every job it changes is published as `JobChanged`,
followed by one `DataChanged(origin="queue")`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from casparian_core.db.gateway import Gateway
from casparian_core.events import DataChanged, EventBus, JobChanged
from casparian_core.jobs import fingerprint, health, queue
from casparian_core.jobs.errors import ErrorNotFoundError
from casparian_core.jobs.fingerprint import ErrorDetail, ErrorFile, ErrorSummary
from casparian_core.jobs.model import (
    BACKOFF_SECS,
    ClaimedJob,
    DeadLetter,
    Enqueued,
    FailOutcome,
    JobDetail,
    JobFailure,
    JobQuery,
    JobRecord,
    JobRequest,
    JobSuccess,
    ParserHealth,
    RunRecord,
    Settled,
)
from casparian_core.jobs.status import JobStatus

ORIGIN = "queue"


class JobQueue:
    def __init__(
        self,
        db: Gateway,
        events: EventBus,
        clock: Callable[[], datetime],
        backoff: Sequence[float] = BACKOFF_SECS,
    ) -> None:
        self._db = db
        self._events = events
        self._clock = clock
        self._backoff = tuple(backoff)  # the wait before each retry (settings.retry_backoff_secs)

    # Filling the queue.

    async def enqueue(self, requests: Sequence[JobRequest]) -> list[Enqueued]:
        """A job per request (see queue.enqueue): new ones, or those already queued or running
        for the same input and parser version."""
        made = await self._db.write(queue.enqueue, requests, self._clock())
        self._changed((entry.job_id for entry in made if entry.created), JobStatus.QUEUED)
        return made

    # Reading.

    async def counts(self) -> dict[JobStatus, int]:
        return await self._db.read(queue.counts)

    async def version_counts(self, name: str, version: str) -> tuple[dict[JobStatus, int], int]:
        """A parser version's jobs by status, and its runs in the processing history."""
        return await self._db.read(queue.version_counts, name, version)

    async def jobs(self, query: JobQuery | None = None) -> list[JobRecord]:
        return await self._db.read(queue.jobs, query or JobQuery())

    async def job(self, job_id: str) -> JobDetail:
        """One job in full; raises JobNotFoundError."""
        return await self._db.read(queue.job, job_id)

    async def runs(
        self, statuses: frozenset[JobStatus] | None = None, limit: int = 500
    ) -> list[RunRecord]:
        """The runs (jobs by batch), failed ones first, then newest first (queue.runs)."""
        return await self._db.read(queue.runs, statuses, limit)

    async def run_jobs(
        self, batch_id: str, statuses: frozenset[JobStatus] | None = None
    ) -> list[JobRecord]:
        """A run's jobs, failed first, then running, then in queue order (queue.run_jobs)."""
        return await self._db.read(queue.run_jobs, batch_id, statuses)

    async def jobs_by_id(self, job_ids: Sequence[str]) -> list[JobRecord]:
        """The jobs with these ids: what a burst of JobChanged events changed."""
        return await self._db.read(queue.jobs_by_id, job_ids)

    async def dead_letters(self, parser_name: str | None = None) -> list[DeadLetter]:
        """The dead letters not replayed yet, newest first."""
        return await self._db.read(queue.dead_letters, parser_name=parser_name)

    # Acting on a job by hand.

    async def retry(self, job_id: str) -> None:
        """Queue a failed, dead-lettered or cancelled job again, as new."""
        await self._db.write(queue.requeue, job_id, self._clock())
        self._changed([job_id], JobStatus.QUEUED)

    async def replay(self, job_id: str) -> None:
        """Queue a dead-lettered job again (its dead letter is kept, marked replayed)."""
        await self._db.write(queue.requeue, job_id, self._clock(), dead_letter_only=True)
        self._changed([job_id], JobStatus.QUEUED)

    async def cancel(self, job_id: str) -> None:
        """Cancel a queued or running job."""
        await self._db.write(queue.cancel, job_id, self._clock())
        self._changed([job_id], JobStatus.CANCELLED)

    # Error fingerprints.

    async def errors(self, limit: int = 100) -> list[ErrorSummary]:
        """The error fingerprints seen, most frequent first."""
        return await self._db.read(fingerprint.summaries, limit)

    async def error(self, fingerprint_hex: str) -> ErrorDetail:
        """One fingerprint in full; raises ErrorNotFoundError."""
        found = await self._db.read(fingerprint.detail, fingerprint_hex)
        if found is None:
            raise ErrorNotFoundError(fingerprint_hex)
        return found

    async def error_files(self, fingerprint_hex: str) -> list[ErrorFile]:
        """The files a fingerprint occurred on; raises ErrorNotFoundError."""
        await self.error(fingerprint_hex)
        return await self._db.read(fingerprint.files, fingerprint_hex)

    # The circuit breaker.

    async def health(self, parser_name: str | None = None) -> list[ParserHealth]:
        return await self._db.read(health.health, parser_name)

    async def resume(self, parser_name: str) -> bool:
        """Clear a paused parser's circuit breaker; returns whether it was paused."""
        resumed = await self._db.write(health.resume, parser_name)
        if resumed:
            self._events.publish(DataChanged(origin=ORIGIN))
        return resumed

    # A worker's side.

    async def claim(self, worker: str) -> ClaimedJob | None:
        return await asyncio.to_thread(self.claim_now, worker)

    async def heartbeat(self, job_id: str, worker: str) -> bool:
        """False: the job is no longer the worker's (cancelled, or requeued): stop it."""
        return await self._db.write(queue.heartbeat, job_id, worker, self._clock())

    async def complete(self, job_id: str, worker: str, success: JobSuccess) -> bool:
        return await asyncio.to_thread(self.complete_now, job_id, worker, success)

    async def fail(self, job_id: str, worker: str, failure: JobFailure) -> FailOutcome | None:
        return await asyncio.to_thread(self.fail_now, job_id, worker, failure)

    async def release(self, job_id: str, worker: str) -> bool:
        return await asyncio.to_thread(self.release_now, job_id, worker)

    # The same, from a worker's own thread (the pool's workers run their jobs in threads, so
    # a job's claim, run and completion take no trip through the event loop).

    def claim_now(self, worker: str, group: str | None = None) -> ClaimedJob | None:
        with self._db.writing() as conn:
            claimed = queue.claim(conn, worker, self._clock(), group)
        if claimed is not None:
            self._changed([claimed.job_id], JobStatus.RUNNING)
        return claimed

    def complete_now(self, job_id: str, worker: str, success: JobSuccess) -> bool:
        return bool(self.settle_now(worker, [(job_id, success)]).completed)

    def settle_now(
        self,
        worker: str,
        completions: Sequence[tuple[str, JobSuccess]],
        claim_up_to: int = 0,
        group: str | None = None,
        sink: str | None = None,
    ) -> Settled:
        """Complete the jobs `worker` finished and claim up to `claim_up_to` next ones (of
        `group` and `sink`, see queue.claim), in one write transaction (queue.settle)."""
        with self._db.writing() as conn:
            settled = queue.settle(
                conn, worker, self._clock(), completions, claim_up_to, group, sink
            )
        successes = dict(completions)
        self._publish(
            {job_id: queue.completed_status(successes[job_id]) for job_id in settled.completed}
            | dict.fromkeys((job.job_id for job in settled.claimed), JobStatus.RUNNING)
        )
        return settled

    def fail_now(self, job_id: str, worker: str, failure: JobFailure) -> FailOutcome | None:
        with self._db.writing() as conn:
            outcome = queue.fail(conn, job_id, worker, failure, self._clock(), self._backoff)
        if outcome is not None:
            self._changed([job_id], outcome.status)
        return outcome

    def release_now(self, job_id: str, worker: str) -> bool:
        with self._db.writing() as conn:
            released = queue.release(conn, job_id, worker)
        if released:
            self._changed([job_id], JobStatus.QUEUED)
        return released

    def requeue_lost_now(
        self, job_ids: Sequence[str], worker: str, message: str
    ) -> dict[str, JobStatus]:
        """The attempts lost with the worker running them (see queue.requeue_lost)."""
        with self._db.writing() as conn:
            moved = queue.requeue_lost(conn, job_ids, worker, message, self._clock())
        self._publish(moved)
        return moved

    async def requeue_stale(self, stale_after: timedelta) -> dict[str, JobStatus]:
        """The zombie sweep (see queue.requeue_stale)."""
        moved = await self._db.write(queue.requeue_stale, stale_after, self._clock())
        self._publish(moved)
        return moved

    async def reset_orphans(
        self, worker_gone: Callable[[str], bool] | None = None
    ) -> dict[str, JobStatus]:
        """On a daemon's start (see queue.reset_orphans); with `worker_gone`, the running jobs
        of the workers it names (a pool's worker process that died)."""
        gone = () if worker_gone is None else (worker_gone,)
        moved = await self._db.write(queue.reset_orphans, self._clock(), *gone)
        self._publish(moved)
        return moved

    def announce(self, job_id: str, status: JobStatus) -> None:
        """Publish a change another process made to a job (a pool's worker process)."""
        self._changed([job_id], status)

    def _changed(self, job_ids: Iterable[str], status: JobStatus) -> None:
        self._publish(dict.fromkeys(job_ids, status))

    def _publish(self, changes: dict[str, JobStatus]) -> None:
        for job_id, status in changes.items():
            self._events.publish(JobChanged(job_id, status))
        if changes:
            self._events.publish(DataChanged(origin=ORIGIN))
