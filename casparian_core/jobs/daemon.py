"""The daemon (`casparian start`): process new and changed files unattended, until told to stop.

It holds the home's daemon lock (daemon_lock.py) for its whole life, then
- resets the jobs orphaned by a process that died while running them (`reset_orphans`);
- follows the watched sources (the scout watcher) and plans a batch, as `process` does
  (jobs/plan.py), on start and whenever the catalogue, the registry or the queue changed: by
  its watcher or by another process (`scan`, `parser register`, `jobs retry`). Each batch has a
  batch_id. After the first, a batch checks only the pairs new or changed since the batches
  before it (plan.PlannedFiles), not the whole catalogue. A pair whose last job failed for good
  is not queued again until its file changes (or `jobs retry`), so a broken file is not retried
  forever;
- runs the queue dry with the local pool after each batch (retries waited for);
- sweeps zombies every heartbeat interval: running jobs silent for the stale time are requeued.

`stop()` (SIGTERM or SIGINT) stops claiming and lets running jobs finish; a second stop puts
them back in the queue instead, nothing of them committed. Either way the pool closes its
sessions, which reap their guests. Everything it does is logged to `logs/daemon.log` (logger
`casparian`, rotated by size), and its state (`status`) to `daemon.json`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.handlers
import os
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.db.connection import format_timestamp
from casparian_core.events import DataChanged
from casparian_core.jobs import logs, queue
from casparian_core.jobs.daemon_lock import DaemonLock, DaemonState
from casparian_core.jobs.executor import Executor, JobReport
from casparian_core.jobs.model import JobRequest
from casparian_core.jobs.plan import PlannedFiles, ProcessRequest, plan
from casparian_core.jobs.process import FAILED_STATUSES, cluster_to_keep, executor_for
from casparian_core.jobs.status import UNFINISHED, JobStatus
from casparian_core.sinks.uri import canonical_uri
from casparian_core.units import plural

if TYPE_CHECKING:
    from casparian_core.events import Event
    from casparian_core.service import CoreService

log = logging.getLogger("casparian.daemon")

LOG_NAME = "daemon.log"
LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5  # daemon.log.1 ... daemon.log.5: at most 60 MB
STATE_EVERY_SECS = 1.0  # the state file is rewritten at most this often while jobs end
# A planned pair is left alone while its latest job is active, or failed since its file changed.
UNSUCCESSFUL = frozenset({JobStatus.FAILED, JobStatus.DEAD_LETTER, JobStatus.CANCELLED})


@dataclass(frozen=True)
class DaemonRequest:
    workers: int | None = None  # default: settings.max_workers
    offline: bool = False  # build parser environments from the wheels folder
    sink_uri: str | None = None  # default: the home's output folder, as Parquet
    executor: str | None = None  # local, dask or dask-local; default: settings.executor
    scheduler: str | None = None  # the Dask scheduler's address; default: settings'


class Daemon:
    def __init__(self, service: CoreService, request: DaemonRequest) -> None:
        settings = service.settings
        self._service = service
        self.sink_uri = request.sink_uri or settings.output_uri
        self._request = ProcessRequest(
            workers=request.workers or settings.max_workers,
            offline=request.offline,
            sink_uri=self.sink_uri,
            executor=request.executor,
            scheduler=request.scheduler,
        )
        # Refused before it starts; a Dask cluster is kept for all its batches.
        self._cluster = cluster_to_keep(service, self._request, self.sink_uri)
        self._lock = DaemonLock(settings.home)
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._replan = True
        self._pool: Executor | None = None
        self._planned = PlannedFiles()
        self._abandon = False
        self._state_written = 0.0
        self.state = DaemonState(os.getpid(), "", self._request.workers or 1, self.sink_uri)

    async def run(self) -> DaemonState:
        """Run until `stop()`. Raises DaemonRunningError when another daemon holds the home."""
        service = self._service
        self._lock.acquire()
        handler = log_to(service.settings.logs_dir)
        try:
            started = format_timestamp(service.clock())
            self.state = replace(self.state, started_at=started)
            self._write_state(force=True)
            log.info(
                "daemon %d started on %s: %s, output to %s",
                self.state.pid,
                service.settings.home,
                plural(self.state.workers, "worker"),
                self.sink_uri,
            )
            orphans = await service.queue.reset_orphans()
            if orphans:
                log.info("%d jobs of a process that ended were put back in the queue", len(orphans))
            loop = asyncio.get_running_loop()
            unsubscribe = service.subscribe(
                lambda event: loop.call_soon_threadsafe(self._changed, event), DataChanged
            )
            await service.scout.start_watching()
            sweeper = asyncio.create_task(self._sweep(), name="daemon-sweep")
            try:
                await self._follow()
            finally:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
                await service.scout.stop_watching()
                unsubscribe()
            log.info(
                "daemon %d stopped: %d jobs done, %d failed",
                self.state.pid,
                self.state.jobs_done,
                self.state.jobs_failed,
            )
        finally:
            if self._cluster is not None:
                await asyncio.to_thread(self._cluster.close)
            logging.getLogger("casparian").removeHandler(handler)
            handler.close()
            self._lock.release()
        return self.state

    def stop(self, *, abandon: bool = False) -> None:
        """Claim nothing more; running jobs finish, or with `abandon` go back to the queue."""
        self._abandon = self._abandon or abandon
        self._stopping.set()
        self._wake.set()
        if self._pool is not None:
            self._pool.stop(abandon=self._abandon)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # The loop: plan when something changed, run the queue dry, wait for the next change.

    async def _follow(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            if self._replan:
                self._replan = False
                await self._plan_batch()
            sink = canonical_uri(self.sink_uri)  # its pool claims only this sink's jobs
            if await self._service.db.read(queue.next_due, None, sink) is not None:
                await self._run_queue()
            else:
                await self._wake.wait()

    def _changed(self, event: Event) -> None:
        assert isinstance(event, DataChanged)
        # The queue's own changes (our workers') need no new plan; anything else may have added
        # files, tags or parser versions. Our commits also show as "another process" (the
        # service cannot tell them apart): at worst one plan more, which finds nothing new.
        if any(origin.strip() != "queue" for origin in event.origin.split(",")):
            self._replan = True
            self._wake.set()

    async def _plan_batch(self) -> None:
        service, settings = self._service, self._service.settings
        await asyncio.to_thread(
            logs.rotate,
            settings.logs_dir,
            service.clock().date(),
            settings.log_retention_days,
            settings.log_retention_bytes,
        )
        planned = await plan(
            service.registry, service.scout, self._request, self.sink_uri, self._planned
        )
        requests = await self._new_work(planned.requests)
        if not requests:
            return
        made = await service.queue.enqueue(requests)
        self.state = replace(self.state, batches=self.state.batches + 1)
        self._write_state(force=True)
        log.info(
            "batch %s: %d jobs queued (%d files unchanged since the last batch not checked)",
            planned.batch_id,
            sum(e.created for e in made),
            planned.unchanged,
        )

    async def _new_work(self, requests: list[JobRequest]) -> list[JobRequest]:
        """Leave out the pairs whose latest job is queued or running, and those whose latest
        job failed for good (or was cancelled) since their file last changed: `jobs retry` or
        a new version of the file runs them again."""
        latest: dict[tuple[str, str], dict[str, tuple[JobStatus, str]]] = {}
        kept = []
        for request in requests:
            version = (request.parser_name, request.parser_version)
            if version not in latest:
                latest[version] = await self._service.db.read(
                    queue.latest_jobs, *version, canonical_uri(self.sink_uri)
                )
            status, queued_at = latest[version].get(request.input_path, (None, ""))
            if status in UNFINISHED:
                continue
            if status in UNSUCCESSFUL and _modified_at(request.input_path) <= queued_at:
                continue
            kept.append(request)
        return kept

    async def _run_queue(self) -> None:
        if self._stopping.is_set():
            return
        # The open quarantine entries the queued jobs re-run, captured from the queue (jobs a
        # daemon killed before running them included), settle once they ran.
        captured = await self._service.replay.capture_queued(self.sink_uri)
        self._pool = executor_for(
            self._service, self._request, self.sink_uri, self._report, self._cluster
        )
        try:
            await self._pool.run()
        finally:
            self._pool = None
            self._write_state(force=True)
        await self._service.replay.settle_run(captured)

    def _report(self, report: JobReport) -> None:
        if report.status == JobStatus.QUEUED:
            return  # a retry is due, or the job was put back: not done yet
        failed = report.status in FAILED_STATUSES
        self.state = replace(
            self.state,
            jobs_done=self.state.jobs_done + 1,
            jobs_failed=self.state.jobs_failed + failed,
        )
        if failed:
            log.warning(
                "job %s failed (%s): %s %s on %s: %s: %s",
                report.job.job_id,
                report.status,
                report.job.parser_name,
                report.job.parser_version,
                report.job.input_path,
                report.result.error_code,
                report.result.error_message,
            )
        self._write_state(force=False)

    # The zombie sweep.

    async def _sweep(self) -> None:
        settings = self._service.settings
        stale_after = timedelta(seconds=settings.stale_timeout_secs)
        while True:
            await asyncio.sleep(settings.heartbeat_secs)
            moved = await self._service.queue.requeue_stale(stale_after)
            if moved:
                log.warning(
                    "%d running jobs sent no heartbeat for %g s: put back in the queue",
                    len(moved),
                    settings.stale_timeout_secs,
                )
                self._wake.set()

    def _write_state(self, *, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._state_written >= STATE_EVERY_SECS:
            self._lock.write_state(self.state)
            self._state_written = now


def _modified_at(path: str) -> str:
    """The file's last change, as a queue timestamp; a missing file counts as unchanged."""
    try:
        seconds = os.stat(path).st_mtime
    except OSError:
        return ""
    return format_timestamp(datetime.fromtimestamp(seconds, UTC))


def log_to(logs_dir: Path) -> logging.Handler:
    """Send the `casparian` loggers' records to `logs_dir/daemon.log`, rotated by size; returns
    the handler (remove it from logging.getLogger("casparian") to stop)."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        logs_dir / LOG_NAME, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("casparian")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
