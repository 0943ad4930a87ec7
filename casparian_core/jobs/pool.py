"""`LocalPool`: the executor that runs claimed jobs on this machine, N workers at a time.

Each worker is a thread of its own: it claims jobs, submits each to its warm `ParserSession` for
that parser version (the registered artifact in its managed venv), and completes or fails each
input in the queue as the session finishes it, all without a trip through the event loop (one
per step cost more than a small file's whole run). A worker running small files claims several
at once (as many as it ran in about CLAIM_BATCH_SECS, at most MAX_CLAIM_BATCH; a slow job is
claimed alone, so another worker is not left idle), and records the completions of the jobs it
finished in the write transaction of its next claim (queue.settle), or before it waits or ends:
one write transaction per batch instead of two per file. Until then they stay RUNNING, with
heartbeats: a worker killed meanwhile leaves them to be run again (their outputs replaced, not
doubled). When a failure pauses a parser (the circuit breaker), the worker gives that parser's
unstarted jobs back; another worker's batch claimed before the pause still runs. Its reports
are delivered on the event loop that runs the pool. A session holds the job it is finishing and
the next one, already sent, so the guest never waits for a claim. A session is closed and
replaced after settings.worker_recycle_jobs jobs, or when its guest's memory exceeds
settings.worker_max_guest_rss_mb.

Heartbeats come from one task on the event loop, which a long parse (running in a worker's
thread) does not block; a heartbeat the queue refuses (the job was cancelled or requeued as
stale) cancels that input. A worker with nothing to claim finishes what its sessions hold, then
waits for the earliest retry due (paused parsers' jobs excluded) or ends when there is none.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

from casparian_core import stage_times
from casparian_core.config import Settings
from casparian_core.db.gateway import Gateway
from casparian_core.engine.results import InputItem, RunResult, RunStatus
from casparian_core.engine.session import ParserSession
from casparian_core.errors import CasparianError, ErrorCode
from casparian_core.jobs import queue
from casparian_core.jobs.cpu_shares import placed
from casparian_core.jobs.executor import JobReport, ReportCallback
from casparian_core.jobs.facade import JobQueue
from casparian_core.jobs.input_keys import InputKeys
from casparian_core.jobs.logs import JobLog, job_log_path
from casparian_core.jobs.model import ClaimedJob, JobFailure, JobSuccess
from casparian_core.jobs.status import JobStatus
from casparian_core.registry.facade import Registry
from casparian_core.registry.materialize import RunnableParser
from casparian_core.sinks import open_sink
from casparian_core.sinks.uri import canonical_uri

MAX_IDLE_WAIT_SECS = 1.0  # a retry due later is waited for in steps, so stop() is prompt
# A batch claim takes the jobs a worker runs in about this long (by its latest batch's pace).
CLAIM_BATCH_SECS = 0.05
MAX_CLAIM_BATCH = 16
# A guest's memory is read at most this often (reading it per job cost as much as a small job).
RSS_CHECK_SECS = 0.5


@dataclass
class _InFlight:
    job: ClaimedJob
    worker: str
    cancel: threading.Event
    log: JobLog


@dataclass
class _Worker:
    """A worker thread's own state: its warm sessions, the jobs it claimed and not yet started,
    those it finished and not yet recorded complete, and the pace of its latest batch."""

    name: str
    sessions: dict[tuple[str, str], _Warm] = field(default_factory=dict)
    backlog: deque[ClaimedJob] = field(default_factory=deque)
    input_keys: dict[str, str] = field(default_factory=dict)  # of the backlog's jobs, by id
    unrecorded: list[tuple[_InFlight, RunResult]] = field(default_factory=list)
    batch_started: float = 0.0  # time.monotonic() of the latest claim
    batch_size: int = 0  # jobs the latest claim took

    def next_claim_size(self, now: float) -> int:
        """1 at first and after a slow batch; more while jobs are fast."""
        if not self.batch_size:
            return 1
        per_job = max(now - self.batch_started, 1e-6) / self.batch_size
        return max(1, min(MAX_CLAIM_BATCH, int(CLAIM_BATCH_SECS / per_job)))


@dataclass
class _Warm:
    session: ParserSession
    jobs: int = 0
    held: list[str] = field(default_factory=list)  # job ids submitted, results not yet read
    rss_checked_at: float = -RSS_CHECK_SECS  # time.monotonic() of the last memory check


class LocalPool:
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
        cpus: frozenset[int] | None = None,
    ) -> None:
        self._settings = settings
        self._cpus = cpus  # where its workers run; None: wherever the system puts them
        self._group = group  # a backfill's id: only its jobs are claimed (queue.claim)
        self._db = db
        self._queue = jobs
        self._registry = registry
        self._clock = clock
        self._workers = workers
        self._sink_uri = sink_uri
        self._sink = canonical_uri(sink_uri)  # the sink whose jobs it claims
        self._offline = offline
        self._on_report = on_report
        self._name = name
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop  # set by run(): the workers' reports go to it
        self._abandon = threading.Event()
        self._inflight: dict[str, _InFlight] = {}
        self._runnables: dict[tuple[str, str], asyncio.Future[RunnableParser]] = {}
        self._input_keys = InputKeys(db)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        heartbeats = asyncio.create_task(self._heartbeat())
        workers = asyncio.gather(
            *(
                asyncio.to_thread(self._work, f"{self._name}-{n}")
                for n in range(1, self._workers + 1)
            )
        )
        try:
            await asyncio.shield(workers)
        except asyncio.CancelledError:
            self.stop(abandon=True)  # the threads cannot be cancelled: they stop, then we do
            await workers
            raise
        finally:
            heartbeats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeats

    def stop(self, *, abandon: bool = False) -> None:
        self._stopping.set()
        if abandon:
            self._abandon.set()
            for flight in list(self._inflight.values()):
                flight.cancel.set()

    # A worker: a thread of its own, so that claiming, running and completing a job never
    # waits for the event loop (a trip through it per step cost more than the step).

    def _work(self, name: str) -> None:
        with placed(self._cpus):  # and its guest, commit and ZeroMQ threads (cpu_shares.py)
            self._serve(name)

    def _serve(self, name: str) -> None:
        worker = _Worker(name)
        cpu = time.thread_time()
        try:
            while not self._stopping.is_set():
                if not worker.backlog:
                    self._settle(worker, worker.next_claim_size(time.monotonic()))
                if worker.backlog:
                    self._start(worker, worker.backlog.popleft())
                    continue
                self._collect_all(worker)
                self._settle(worker, 0)
                with self._db.reading() as conn:
                    due = queue.next_due(conn, self._group, self._sink)
                if due is None:
                    break
                self._wait_until(datetime.fromisoformat(due))
            self._collect_all(worker)
            self._settle(worker, 0)
        finally:
            for warm in worker.sessions.values():
                warm.session.close()
            self._release_held(name)
            stage_times.add(stage_times.WORKER_CPU, time.thread_time() - cpu)

    def _settle(self, worker: _Worker, claim_up_to: int) -> None:
        """Record the finished jobs complete and claim up to `claim_up_to` more, in one write
        transaction; the claimed jobs join the backlog (and the heartbeats)."""
        if not worker.unrecorded and not claim_up_to:
            return
        finished = {flight.job.job_id: (flight, result) for flight, result in worker.unrecorded}
        worker.unrecorded.clear()
        with stage_times.stage("claim and complete (queue)"):
            settled = self._queue.settle_now(
                worker.name,
                [(job_id, success_of(result)) for job_id, (_, result) in finished.items()],
                claim_up_to,
                self._group,
                self._sink,
            )
        for job_id in finished:
            self._inflight.pop(job_id, None)
        completed = []
        for job_id in settled.completed:
            flight, result = finished[job_id]
            status = (
                JobStatus.COMPLETED_WITH_WARNINGS if result.quarantined else JobStatus.COMPLETED
            )
            completed.append(JobReport(flight.job, result, status, log_path=_log_path(flight)))
        self._report(*completed)
        if claim_up_to:
            worker.batch_started, worker.batch_size = time.monotonic(), len(settled.claimed)
        for job in settled.claimed:
            self._inflight[job.job_id] = self._flight(job, worker.name)
            worker.backlog.append(job)
        # Held (and given back if this fails) before the batch's files are read, in one query.
        keys = self._input_keys.of_all(settled.claimed)
        worker.input_keys.update(zip((job.job_id for job in settled.claimed), keys, strict=True))

    def _flight(self, job: ClaimedJob, worker: str) -> _InFlight:
        flight = _InFlight(
            job,
            worker,
            threading.Event(),
            JobLog(
                job_log_path(self._settings.logs_dir, job.job_id, self._clock()),
                self._settings.log_cap_bytes,
            ),
        )
        if self._abandon.is_set():
            flight.cancel.set()
        return flight

    def _start(self, worker: _Worker, job: ClaimedJob) -> None:
        key = (job.parser_name, job.parser_version)
        flight = self._inflight[job.job_id]
        input_key = worker.input_keys.pop(job.job_id)
        try:
            warm = worker.sessions.get(key) or self._open(key)
            item = InputItem(
                Path(job.input_path),
                input_key,
                job.job_id,
                on_log=flight.log.write,
                cancel=flight.cancel,
            )
        except CasparianError as exc:
            self._fail_unstarted(worker, flight, exc)
            return
        worker.sessions[key] = warm
        warm.held.append(job.job_id)
        warm.jobs += 1
        warm.session.submit(item)
        self._collect(worker, key, wait=False)

    def _open(self, key: tuple[str, str]) -> _Warm:
        runnable = asyncio.run_coroutine_threadsafe(self._runnable(key), self._loop).result()
        session = ParserSession(
            runnable.parser_path,
            self._settings,
            open_sink(self._sink_uri),
            venv=runnable.venv,
            preview_rows=0,  # a job's report shows counts, never rows: keeping some cost time
        )
        return _Warm(session)

    async def _runnable(self, key: tuple[str, str]) -> RunnableParser:
        """One materialization per parser version for the whole pool (the workers would
        otherwise build the same venv at once)."""
        if key not in self._runnables:
            self._runnables[key] = asyncio.ensure_future(
                self._registry.runnable(key[0], key[1], offline=self._offline)
            )
        return await asyncio.shield(self._runnables[key])

    def _collect(self, worker: _Worker, key: tuple[str, str], *, wait: bool) -> None:
        warm = worker.sessions[key]
        for result in list(warm.session.results(wait)):
            self._finish(worker, self._inflight[warm.held.pop(0)], result)
        if self._worn_out(warm):
            self._collect_all_and_close(worker, key)

    def _collect_all(self, worker: _Worker) -> None:
        for key in list(worker.sessions):
            self._collect(worker, key, wait=True)

    def _worn_out(self, warm: _Warm) -> bool:
        now = time.monotonic()
        check_memory = now >= warm.rss_checked_at + RSS_CHECK_SECS
        if check_memory:
            warm.rss_checked_at = now
        return worn_out(warm.session, warm.jobs, self._settings, check_memory=check_memory)

    def _collect_all_and_close(self, worker: _Worker, key: tuple[str, str]) -> None:
        warm = worker.sessions.pop(key)
        for result in list(warm.session.results(True)):
            self._finish(worker, self._inflight[warm.held.pop(0)], result)
        warm.session.close()

    # Reporting to the queue.

    def _finish(self, worker: _Worker, flight: _InFlight, result: RunResult) -> None:
        """A success waits for the worker's next settle; anything else is reported now."""
        if result.ok:
            worker.unrecorded.append((flight, result))
            return
        job, name = flight.job, flight.worker
        del self._inflight[job.job_id]
        if result.status == RunStatus.CANCELLED:
            if self._abandon.is_set() and self._queue.release_now(job.job_id, name):
                report = JobReport(job, result, JobStatus.QUEUED, log_path=_log_path(flight))
                self._report(report)
            return  # otherwise the queue took it back (cancelled, or requeued as stale)
        outcome = self._queue.fail_now(job.job_id, name, failure_of(result))
        if outcome is not None and outcome.paused_parser:
            self._release_backlog(worker, job.parser_name)
        if outcome is not None:
            report = JobReport(
                job,
                result,
                outcome.status,
                outcome.next_attempt_at,
                outcome.paused_parser,
                _log_path(flight),
            )
            self._report(report)

    def _release_backlog(self, worker: _Worker, parser_name: str) -> None:
        """The parser was just paused: its jobs claimed in the worker's batch and not started go
        back to the queue unrun, as if never claimed."""
        for job in [job for job in worker.backlog if job.parser_name == parser_name]:
            worker.backlog.remove(job)
            del worker.input_keys[job.job_id]
            del self._inflight[job.job_id]
            self._queue.release_now(job.job_id, worker.name)

    def _fail_unstarted(self, worker: _Worker, flight: _InFlight, exc: CasparianError) -> None:
        """The parser version could not be made ready (a corrupt artifact, a venv that does
        not build offline): a permanent failure of the job, never run."""
        self._finish(worker, flight, unrun_result(flight.job, exc.error_code, str(exc)))

    def _release_held(self, worker: str) -> None:
        """Jobs still held when a worker ends (claimed and not started when it was stopped;
        Ctrl+C twice, a bug) go back to the queue, nothing of them committed; after a bug,
        also those finished and not recorded yet: run again, their outputs are replaced."""
        for job_id, flight in list(self._inflight.items()):
            if flight.worker == worker:
                del self._inflight[job_id]
                self._queue.release_now(job_id, worker)

    def _report(self, *reports: JobReport) -> None:
        """Reports are delivered on the event loop, in the order the workers made them; those
        of one settle with one wake-up of the loop, not one each."""
        if self._on_report is not None and reports:
            self._loop.call_soon_threadsafe(_deliver_all, self._on_report, reports)

    # Waiting.

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_secs)
            for job_id, flight in list(self._inflight.items()):
                if not await self._queue.heartbeat(job_id, flight.worker):
                    flight.cancel.set()

    def _wait_until(self, due: datetime) -> None:
        delay = (due - self._clock()).total_seconds()
        if delay > 0:
            self._stopping.wait(min(delay, MAX_IDLE_WAIT_SECS))


def _deliver_all(on_report: ReportCallback, reports: tuple[JobReport, ...]) -> None:
    for report in reports:
        on_report(report)


def _log_path(flight: _InFlight) -> str | None:
    return str(flight.log.path) if flight.log.path.exists() else None


def success_of(result: RunResult) -> JobSuccess:
    outputs = {
        output.name: {
            "location": output.location,
            "rows": output.rows,
            "quarantined": output.quarantined,
        }
        for output in result.outputs
    }
    return JobSuccess(result.rows, result.quarantined, outputs)


def worn_out(
    session: ParserSession, jobs: int, settings: Settings, *, check_memory: bool = True
) -> bool:
    """Whether a warm session is due for a new guest: after settings.worker_recycle_jobs jobs,
    or (when `check_memory`) once its guest's memory exceeds settings.worker_max_guest_rss_mb.
    The local pool's workers and the Dask workers' plugin recycle by this."""
    if jobs >= settings.worker_recycle_jobs:
        return True
    pid = session.guest_pid
    if not check_memory or pid is None:
        return False
    try:
        rss = psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return False
    return rss > settings.worker_max_guest_rss_mb * 1024 * 1024


def unrun_result(
    job: ClaimedJob,
    code: ErrorCode | None,
    message: str,
    *,
    transient: bool = False,
    cancelled: bool = False,
) -> RunResult:
    """The result of a job that ended without a parse of its own: its parser could not be made
    ready, its worker died with it, it was given back."""
    return RunResult(
        parser_name=job.parser_name,
        parser_version=job.parser_version,
        input_path=Path(job.input_path),
        status=RunStatus.CANCELLED if cancelled else RunStatus.FAILED,
        job_id=job.job_id,
        error_code=code,
        error_message=message or None,
        transient=transient,
    )


def failure_of(result: RunResult) -> JobFailure:
    return JobFailure(
        error_code=result.error_code or ErrorCode.UNKNOWN_ERROR,
        message=result.error_message or result.status,
        transient=result.transient,
        traceback=result.traceback,
        context={"parser": result.parser_name, "suggestion": result.suggestion},
    )
