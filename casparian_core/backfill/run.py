"""Executing a backfill: its jobs through the queue into the staging area, then the swap.

`start` stores the backfill (refused while the parser has another: a unique index) and queues
a job per file (its `backfill_id` keeps every other pool off it); `drive` runs them with the
local pool writing to the staging sink (retries and dead letters as for any job), and once all
of them succeeded, checks the swap (nothing moved if it would leave two schemas), marks the
backfill SWAPPING (from there it is only ever finished), swaps, marks it DONE and removes the
staging area. A failed job leaves the backfill STAGING, the output untouched: retry the job
(`casparian jobs retry`), then `resume`. A crash anywhere is picked up by `resume`: jobs of a
dead worker are queued again, parts already staged are skipped by the sink, an interrupted
swap is rolled forward.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.backfill import store, swap
from casparian_core.backfill.errors import (
    BackfillActiveError,
    BackfillNotFoundError,
    BackfillRefusedError,
    BackfillStateError,
)
from casparian_core.backfill.store import BackfillRecord, BackfillStatus
from casparian_core.db.connection import format_timestamp
from casparian_core.engine.inputs import part_key
from casparian_core.events import DataChanged
from casparian_core.inspect.settling import Rerun
from casparian_core.jobs.executor import Executor
from casparian_core.jobs.model import JobRecord, JobRequest
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.process import local_pool
from casparian_core.jobs.status import UNFINISHED, JobStatus
from casparian_core.sinks.uri import canonical_uri
from casparian_core.units import plural

if TYPE_CHECKING:
    from casparian_core.backfill.plan import BackfillPlan
    from casparian_core.jobs.executor import JobReport
    from casparian_core.service import CoreService

# Test hook: a file path. At the swap point (before each output folder is exchanged, or before
# a database's one transaction, named "tables") the runner appends the output's name to it and
# waits until `<path>.go.<output>` exists, so a test can kill it exactly there. Never set in use.
PAUSE_AT_SWAP = "CASPARIAN_BACKFILL_PAUSE_AT_SWAP"
DONE = frozenset({JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_WARNINGS})
ORIGIN = "backfill"  # DataChanged's origin when a backfill moves on (the Jobs screen shows it)


@dataclass(frozen=True)
class FailedFile:
    job_id: str
    path: str
    status: JobStatus
    error_code: str | None
    message: str | None


@dataclass
class BackfillOutcome:
    record: BackfillRecord
    jobs: int = 0
    rows: int = 0
    quarantined: int = 0
    failed: list[FailedFile] = field(default_factory=list)
    waiting: int = 0  # jobs still queued or running (interrupted, or retries not yet due)
    swapped: list[str] = field(default_factory=list)  # the outputs swapped in
    interrupted: bool = False

    @property
    def done(self) -> bool:
        return self.record.status == BackfillStatus.DONE

    def lines(self) -> list[str]:
        record = self.record
        lines = [
            f"Backfill {record.id} of {record.parser_name} to {record.parser_version}: "
            f"{str(record.status).lower()}; {plural(self.jobs, 'job')}, {self.rows:,} rows, "
            f"{self.quarantined:,} quarantined."
        ]
        if self.swapped:
            lines.append(f"Swapped in: {', '.join(self.swapped)} ({record.sink_uri}).")
        for failed in self.failed:
            lines.append(
                f"  {failed.status.lower()}: {failed.path}: {failed.error_code}: {failed.message}"
                f" (job {failed.job_id})"
            )
        if self.failed:
            lines.append(
                "The output is untouched: a failed file blocks the swap. Fix it, `casparian jobs "
                f"retry <job>` each, then `casparian backfill --resume {record.id}` (or "
                f"`--abandon {record.id}`)."
            )
        elif not self.done:
            lines.append(
                f"Not finished ({plural(self.waiting, 'job')} waiting): the output is untouched; "
                f"`casparian backfill --resume {record.id}` continues it."
            )
        return lines

    def as_json(self) -> dict[str, object]:
        return {
            **self.record.as_json(),
            "jobs": self.jobs,
            "rows": self.rows,
            "quarantined": self.quarantined,
            "failed": [
                {
                    "job_id": f.job_id,
                    "input": f.path,
                    "status": str(f.status),
                    "error_code": f.error_code,
                    "message": f.message,
                }
                for f in self.failed
            ],
            "waiting": self.waiting,
            "swapped": self.swapped,
            "interrupted": self.interrupted,
        }


class BackfillRun:
    """One process running a backfill (new, or resumed)."""

    def __init__(
        self,
        service: CoreService,
        *,
        workers: int | None = None,
        offline: bool = False,
        on_report: Callable[[JobReport], object] | None = None,
    ) -> None:
        self._service = service
        self._workers = workers
        self._offline = offline
        self._on_report = on_report
        self._owner = f"{os.getpid()}-backfill"
        self._pool: Executor | None = None
        self._stopping = False

    async def start(self, plan: BackfillPlan) -> BackfillRecord:
        """Store the backfill and queue its jobs; refused while the parser has another."""
        if plan.refused is not None:
            raise BackfillRefusedError(f"cannot execute: {plan.refused}")
        service = self._service
        backfill_id = uuid.uuid4().hex
        staging = await asyncio.to_thread(swap.staging_uri, plan.sink_uri, backfill_id)
        record = BackfillRecord(
            backfill_id,
            plan.parser,
            plan.version,
            plan.sink_uri,
            staging,
            tuple(part_key(f.input_key) for f in plan.files),
            len(plan.files),
            BackfillStatus.STAGING,
            self._owner,
            format_timestamp(service.clock()),
            None,
            None,
            None,
        )
        if await service.db.write(store.insert, record) is None:
            other = await service.db.read(store.active, plan.parser)
            raise BackfillActiveError(
                f"parser {plan.parser!r} has an unfinished backfill"
                + (f" ({other.id}, {str(other.status).lower()})" if other else "")
                + ": one at a time; `casparian backfill --resume <id>` finishes it, "
                "`--abandon <id>` drops it"
            )
        made = await service.queue.enqueue(
            [
                JobRequest(
                    plan.parser,
                    plan.version,
                    f.path,
                    file_id=f.file_id,
                    batch_id=backfill_id,  # the Jobs screen shows the backfill as one run
                    input_key=f.input_key,
                    backfill_id=backfill_id,
                    sink_uri=canonical_uri(plan.sink_uri),  # busy: an active job for this sink
                )
                for f in plan.files
            ]
        )
        busy = [f.path for f, job in zip(plan.files, made, strict=True) if not job.created]
        if busy:
            await self.abandon(backfill_id)
            raise BackfillActiveError(
                f"{plural(len(busy), 'file')} ({busy[0]}, ...) already have a queued or running "
                f"job of {plan.parser} {plan.version} outside this backfill (`casparian process` "
                "or the daemon): let it finish, then plan the backfill again"
            )
        return record

    async def resume(self, backfill_id: str) -> BackfillRecord:
        """Take over a backfill whose runner is gone."""
        record = await self._take(backfill_id)
        await self._service.queue.reset_orphans()  # its jobs a dead runner held
        return record

    async def abandon(self, backfill_id: str) -> BackfillRecord:
        """Cancel its queued jobs, remove its staging area; the output stays as it was."""
        service = self._service
        record = await self._take(backfill_id)
        try:
            if record.status == BackfillStatus.SWAPPING:
                raise BackfillStateError(
                    f"backfill {backfill_id} is swapping its output in and can only be "
                    f"finished: `casparian backfill --resume {backfill_id}`"
                )
            await service.queue.reset_orphans()
            for job in await service.queue.run_jobs(backfill_id):
                if job.status == JobStatus.QUEUED:
                    await service.queue.cancel(job.job_id)
            await asyncio.to_thread(swap.remove, record.staging_uri)
            await self._set_status(backfill_id, BackfillStatus.ABANDONED)
        finally:
            await service.db.write(store.release, backfill_id, self._owner)
        return await self._get(backfill_id)

    async def drive(self, record: BackfillRecord) -> BackfillOutcome:
        """Run its queued jobs, then swap if every one succeeded."""
        service = self._service
        try:
            if record.status == BackfillStatus.STAGING and not self._stopping:
                await self._run_jobs(record)
            outcome = await self._outcome(record)
            if record.status == BackfillStatus.STAGING and self._ready(outcome):
                await asyncio.to_thread(
                    swap.check, record.sink_uri, record.staging_uri, record.part_keys
                )
                await self._set_status(record.id, BackfillStatus.SWAPPING)
                record = await self._get(record.id)
            if record.status == BackfillStatus.SWAPPING:
                outcome.swapped = await self._swap(record)
                record = await self._get(record.id)
            outcome.record = record
            note = _note(outcome)
            if note != record.note:
                await service.db.write(store.set_note, record.id, note)
                outcome.record = await self._get(record.id)
            return outcome
        finally:
            await service.db.write(store.release, record.id, self._owner)

    def stop(self, *, abandon: bool = False) -> None:
        """Start no more jobs (Ctrl+C); with `abandon`, stop those running too. The backfill
        stays STAGING: `resume` continues it."""
        self._stopping = True
        if self._pool is not None:
            self._pool.stop(abandon=abandon)

    async def _run_jobs(self, record: BackfillRecord) -> None:
        service = self._service
        queued = len(await service.queue.run_jobs(record.id, frozenset({JobStatus.QUEUED})))
        workers = min(self._workers or service.settings.max_workers, max(queued, 1))
        request = ProcessRequest(workers=workers, offline=self._offline)
        self._pool = local_pool(
            service, request, record.staging_uri, self._on_report, group=record.id
        )
        try:
            await self._pool.run()
        finally:
            self._pool = None

    async def _swap(self, record: BackfillRecord) -> list[str]:
        service = self._service
        # The open quarantine entries older versions left for its inputs, settled after the
        # swap (captured again on a resumed swap: what was swapped already is not outdated).
        reruns = [Rerun(record.parser_name, record.parser_version, k) for k in record.part_keys]
        await service.replay.capture(record.sink_uri, reruns)
        swapped = await asyncio.to_thread(
            swap.swap,
            record.sink_uri,
            record.staging_uri,
            record.id,
            record.part_keys,
            _pause_at_swap,
        )
        await asyncio.to_thread(swap.remove, record.staging_uri)
        await self._set_status(record.id, BackfillStatus.DONE)
        await service.replay.settle()  # quarantine entries the new rows resolved
        return swapped

    async def _set_status(self, backfill_id: str, status: BackfillStatus) -> None:
        service = self._service
        at = format_timestamp(service.clock())
        await service.db.write(store.set_status, backfill_id, status, at)
        service.events.publish(DataChanged(origin=ORIGIN))

    async def _outcome(self, record: BackfillRecord) -> BackfillOutcome:
        jobs = await self._service.queue.run_jobs(record.id)
        outcome = BackfillOutcome(record, len(jobs), interrupted=self._stopping)
        for job in jobs:
            if job.status in DONE:
                outcome.rows += job.rows_out or 0
                outcome.quarantined += job.rows_quarantined or 0
            elif job.status in UNFINISHED:
                outcome.waiting += 1
            else:
                outcome.failed.append(_failed(job))
        return outcome

    @staticmethod
    def _ready(outcome: BackfillOutcome) -> bool:
        return not outcome.failed and not outcome.waiting and not outcome.interrupted

    async def _take(self, backfill_id: str) -> BackfillRecord:
        record = await self._get(backfill_id)
        if record.status not in store.ACTIVE:
            raise BackfillStateError(
                f"backfill {backfill_id} is {str(record.status).lower()}: nothing to continue"
            )
        owner = await self._service.db.write(store.take, backfill_id, self._owner)
        if owner is not None:
            raise BackfillActiveError(
                f"backfill {backfill_id} is being run by process {owner.partition('-')[0]}; "
                "wait for it to end (or stop it) first"
            )
        return record

    async def _get(self, backfill_id: str) -> BackfillRecord:
        record = await self._service.db.read(store.get, backfill_id)
        if record is None:
            raise BackfillNotFoundError(backfill_id)
        return record


def _failed(job: JobRecord) -> FailedFile:
    code = None if job.error_code is None else str(job.error_code)
    return FailedFile(job.job_id, job.input_path, job.status, code, job.error_message)


def _note(outcome: BackfillOutcome) -> str | None:
    if outcome.failed:
        paths = ", ".join(Path(f.path).name for f in outcome.failed[:5])
        return f"{plural(len(outcome.failed), 'file')} failed ({paths}): the swap waits"
    return None


def _pause_at_swap(output: str) -> None:
    """The test hook (PAUSE_AT_SWAP)."""
    path = os.environ.get(PAUSE_AT_SWAP)
    if not path:
        return
    with open(path, "a") as log:
        log.write(output + "\n")
    while not Path(f"{path}.go.{output}").exists():
        time.sleep(0.02)  # a test hook: the test creates the file (or kills us)
