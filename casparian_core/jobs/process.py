"""`casparian process` in the core: rotate the job logs, queue again the jobs of processes that
died, plan, enqueue, run the queue dry with an executor (the local pool), and sum up what
happened.

Reached as `CoreService.process`. The summary counts each job's last report: a job retried and
then completed counts once, as completed; failed inputs list their error code and message.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from casparian_core import children, stage_times
from casparian_core.engine.results import RunStatus
from casparian_core.jobs import logs
from casparian_core.jobs.executor import Executor, JobReport
from casparian_core.jobs.plan import Plan, ProcessRequest, plan
from casparian_core.jobs.pool import LocalPool
from casparian_core.jobs.process_pool import ProcessPool
from casparian_core.jobs.status import JobStatus
from casparian_core.jobs.worker_start import EarlyWorkers, end_workers, worker_processes

if TYPE_CHECKING:
    from casparian_core.jobs.dask.cluster import KeptCluster
    from casparian_core.service import CoreService

FAILED_STATUSES = frozenset({JobStatus.FAILED, JobStatus.DEAD_LETTER})


@dataclass
class ProcessSummary:
    batch_id: str
    planned: int  # jobs this run enqueued (or found queued already)
    already_done: int  # pairs left out: the sink holds them from this version and content
    reports: dict[str, JobReport] = field(default_factory=dict)  # job id -> its last report
    paused_parsers: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def counts(self) -> Counter[str]:
        """Jobs per outcome: the queue's status, SKIPPED for inputs the sink already held."""
        return Counter(_outcome(report) for report in self.reports.values())

    @property
    def rows(self) -> int:
        return sum(r.result.rows for r in self.reports.values() if r.result.ok)

    @property
    def quarantined(self) -> int:
        return sum(r.result.quarantined for r in self.reports.values() if r.result.ok)

    @property
    def failures(self) -> list[JobReport]:
        return [r for r in self.reports.values() if r.status in FAILED_STATUSES]

    @property
    def failed(self) -> bool:
        return bool(self.failures) or self.interrupted

    def as_json(self) -> dict[str, object]:
        return {
            "batch_id": self.batch_id,
            "planned": self.planned,
            "already_done": self.already_done,
            "counts": dict(sorted(self.counts.items())),
            "rows": self.rows,
            "quarantined": self.quarantined,
            "failed": [_failure_json(r) for r in self.failures],
            # A job failed for good (permanent) or out of retries has a dead letter.
            "dead_letters": [r.job.job_id for r in self.failures],
            "paused_parsers": self.paused_parsers,
            "interrupted": self.interrupted,
        }


def _outcome(report: JobReport) -> str:
    if report.result.status == RunStatus.SKIPPED:
        return str(RunStatus.SKIPPED)
    return str(report.status)


def _failure_json(report: JobReport) -> dict[str, object]:
    return {
        "job_id": report.job.job_id,
        "parser": report.job.parser_name,
        "version": report.job.parser_version,
        "input": report.job.input_path,
        "status": str(report.status),
        "attempts": report.job.attempt,
        "error_code": None if report.result.error_code is None else str(report.result.error_code),
        "message": report.result.error_message,
        "log": report.log_path,
    }


def local_pool(
    service: CoreService,
    request: ProcessRequest,
    sink_uri: str,
    on_report: Callable[[JobReport], object] | None,
    group: str | None = None,
    started: list[children.Child] | None = None,
) -> Executor:
    """The pool that runs the queue for `process`, the daemon, replay and backfill (which
    claims only its `group`'s jobs): several workers writing a folder sink each in a process of
    their own (one interpreter lock would hold them to one core), the first of those `started`
    already; one worker, or a database sink (one writing process at a time), in this process.
    Workers claim as `{pid}-{n}...`, so that the jobs of a process that died are recognised as
    orphans."""
    pool: Callable[..., Executor] = LocalPool
    if worker_processes(service.settings, request, sink_uri):
        pool = functools.partial(ProcessPool, started=started)
    return pool(
        service.settings,
        service.db,
        service.queue,
        service.registry,
        service.clock,
        workers=request.workers or service.settings.max_workers,
        sink_uri=sink_uri,
        offline=request.offline,
        on_report=on_report,
        name=str(os.getpid()),
        group=group,
    )


def executor_for(
    service: CoreService,
    request: ProcessRequest,
    sink_uri: str,
    on_report: Callable[[JobReport], object],
    kept: KeptCluster | None = None,
    started: list[children.Child] | None = None,
) -> Executor:
    """The local pool (with the worker processes `started` for it, EarlyWorkers), or the
    Dask executor when the request or the settings choose it (on `kept`, a daemon's cluster,
    when given)."""
    executor = request.executor or service.settings.executor
    if executor == "local":
        return local_pool(service, request, sink_uri, on_report, started=started)
    from casparian_core.jobs.dask.choose import dask_executor

    return dask_executor(service, request, executor, sink_uri, on_report, kept)


def cluster_to_keep(
    service: CoreService, request: ProcessRequest, sink_uri: str
) -> KeptCluster | None:
    """For a daemon, whose batches share one cluster: the Dask cluster the request chooses
    (opened by the first batch), or None for the local pool. Raises what the user must fix
    about it (check_executor)."""
    executor = request.executor or service.settings.executor
    if executor == "local":
        return None
    from casparian_core.jobs.dask.choose import cluster_spec
    from casparian_core.jobs.dask.cluster import KeptCluster

    return KeptCluster(cluster_spec(service, request, executor, sink_uri))


def check_executor(service: CoreService, request: ProcessRequest, sink_uri: str) -> None:
    """Raise what the user must fix about the executor chosen (the Dask extra missing, a sink
    it cannot write, no scheduler's address) before anything is planned or started."""
    cluster_to_keep(service, request, sink_uri)


class Processing:
    """One `process` run: `prepare` (rotate logs, reset orphans, plan, enqueue), then `run` the
    executor."""

    def __init__(
        self, service: CoreService, request: ProcessRequest, early: EarlyWorkers | None = None
    ) -> None:
        self._service = service
        self._request = request
        self.sink_uri = request.sink_uri or service.settings.output_uri
        self.executor: Executor | None = None
        self.summary: ProcessSummary | None = None
        self._given = early  # started by the command before its imports (worker_start.py)
        self._early: list[children.Child] = []  # worker processes prepare took or started

    async def prepare(self) -> Plan:
        service = self._service
        check_executor(service, self._request, self.sink_uri)  # before anything is queued
        # Started first, they are ready when the jobs are queued (6% of a run on 2,000 small
        # files, 2% more when the command starts them before its imports); given to the pool
        # by `run`, or ended when there is nothing to run.
        early = self._given or EarlyWorkers(service.settings, self._request)
        self._early = early.take()
        try:
            planned = await self._plan_and_enqueue()
        except BaseException:
            await self._end_early()
            raise
        if not planned.requests:
            await self._end_early()  # a caller may not run an empty plan (the Jobs screen)
        self.summary = ProcessSummary(planned.batch_id, len(planned.requests), planned.already_done)
        return planned

    async def _plan_and_enqueue(self) -> Plan:
        service, settings = self._service, self._service.settings
        logs.rotate(
            settings.logs_dir,
            service.clock().date(),
            settings.log_retention_days,
            settings.log_retention_bytes,
        )
        # The jobs a killed `process` (or daemon) held are queued again, or they would stay
        # RUNNING, and unclaimed, until a daemon's zombie sweep.
        await service.queue.reset_orphans()
        planned = await plan(service.registry, service.scout, self._request, self.sink_uri)
        await service.queue.enqueue(planned.requests)
        return planned

    async def _end_early(self) -> None:
        early, self._early = self._early, []
        await asyncio.to_thread(end_workers, early)

    async def run(self, on_report: Callable[[JobReport], object] | None = None) -> ProcessSummary:
        assert self.summary is not None, "prepare() first"
        service, summary = self._service, self.summary

        def record(report: JobReport) -> None:
            stage_times.since_start("first job reported (the command)")
            summary.reports[report.job.job_id] = report
            if report.paused_parser:
                summary.paused_parsers.append(report.job.parser_name)
            if on_report is not None:
                on_report(report)

        # No more workers than queued jobs: a worker started for nothing (a process importing
        # pyarrow, a guest) costs a big file's run ~0.6 s of CPU, on a core it needs.
        queued = (await service.queue.counts()).get(JobStatus.QUEUED, 0)
        workers = min(self._request.workers or service.settings.max_workers, max(queued, 1))
        request = replace(self._request, workers=workers)
        needed = worker_processes(service.settings, request, self.sink_uri)
        started, surplus = self._early[:needed], self._early[needed:]
        self._early = []
        await asyncio.to_thread(end_workers, surplus)
        # Open quarantine entries of the inputs the queued jobs re-run with another version
        # (whoever queued them) settle once they ran: a row is never replaced unrecorded.
        captured = await service.replay.capture_queued(self.sink_uri)
        self.executor = executor_for(service, request, self.sink_uri, record, started=started)
        await self.executor.run()
        await service.replay.settle_run(captured)
        for health in await service.queue.health():
            if health.paused and health.parser_name not in summary.paused_parsers:
                summary.paused_parsers.append(health.parser_name)
        return summary

    def stop(self, *, abandon: bool = False) -> None:
        if self.summary is not None:
            self.summary.interrupted = True
        if self.executor is not None:
            self.executor.stop(abandon=abandon)
