"""`DaskExecutor`: the executor (jobs/executor.py) whose jobs run on a Dask cluster's workers.

The driver, here, is the queue's only client: it claims jobs, submits them to the cluster in
batches (worker.run_batch), and records each job's outcome (complete, fail, release) from the
small result its task returns; the workers never touch the control database. What stays as it
is: claims, heartbeats (the driver's, for every job it holds), the retry policy, the dead
letters, the circuit breaker, history.
- Batches: the small inputs of one parser version go several to a task (up to FILES_PER_TASK,
  spread over the free task slots): Dask costs ~4-5 ms a task on two cores, more than a small
  file's whole run. An input of SMALL_FILE_BYTES or more is a task of its own. Each input stays
  its own job: it commits or fails alone.
- Window: at most TASKS_PER_THREAD tasks per worker thread in flight; the next batch is claimed
  as one finishes, in the write transaction that records the finished jobs complete
  (queue.settle).
- Our retries only: each task has a key of its own (a new one per attempt), Dask's own retries
  are off, the scheduler's allowed-failures is 0 (cluster.py). A worker that dies fails its tasks
  with KilledWorker: each of their jobs is a transient failure (WORKER_LOST), retried by the
  queue; one that ran to its commit before the death is run again, its part replaced.
- Cancel: a job whose heartbeat the queue refuses (cancelled, requeued as stale) is stopped on
  the worker running it (worker.cancel_jobs: its guest stops); Future.cancel alone would not
  stop a running task.
- The circuit breaker: when a failure pauses a parser, its claimed jobs not submitted go back
  to the queue, and its tasks in flight are cancelled, their jobs given back unrun (no attempt
  counted), as the local pool gives back its unstarted jobs: otherwise each task's inputs of a
  failing parser all ran and failed.
- The scheduler going away: the driver stops claiming, records what finished, gives the jobs in
  flight back to the queue unrun, and ends with ClusterError saying so.
- Shared storage: before claiming, every worker must read a sample of the queued inputs and the
  parsers, and write in the output folder; otherwise SharedStorageError names the worker and
  what it cannot reach, and no job is touched.
The driver claims as `{pid}-dask`: the jobs of a driver that died are orphans, queued again by
the next `process` or daemon start (queue.reset_orphans).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import queue as thread_queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.config import Settings
from casparian_core.engine.results import RunResult, RunStatus
from casparian_core.errors import CasparianError, ConfigError, ErrorCode
from casparian_core.jobs import queue
from casparian_core.jobs.dask.cluster import Cluster, ClusterSpec, KeptCluster
from casparian_core.jobs.dask.errors import ClusterError, SharedStorageError
from casparian_core.jobs.dask.state import ClusterState, remove_cluster_state, write_cluster_state
from casparian_core.jobs.executor import JobReport, ReportCallback
from casparian_core.jobs.input_keys import InputKeys
from casparian_core.jobs.model import ClaimedJob, JobQuery, JobSuccess
from casparian_core.jobs.pool import failure_of, success_of, unrun_result
from casparian_core.jobs.status import JobStatus
from casparian_core.registry.materialize import RunnableParser
from casparian_core.sinks.uri import FOLDER_SCHEMES

if TYPE_CHECKING:
    from distributed import Future

    from casparian_core.jobs.dask.worker import BatchOutcome, BatchSpec
    from casparian_core.service import CoreService

FILES_PER_TASK = 20  # measured: 20 small files a task, 820-940 files/s on two cores
SMALL_FILE_BYTES = 4 * 1024 * 1024
TASKS_PER_THREAD = 2  # a window of 2x the threads was within noise of an unbounded one
WAKE_SECS = 0.5  # the drive loop looks at stop() and the cluster at least this often
MAX_IDLE_WAIT_SECS = 1.0
STATE_SECS = 1.0  # the cluster's size is looked at, and told to `status`, this often
STORAGE_SAMPLE = 10  # queued inputs (from as many folders) every worker must read at start


@dataclass
class _Task:
    """A submitted batch: its jobs, and those of them the queue took back meanwhile."""

    jobs: list[ClaimedJob]
    cancelled: set[str] = field(default_factory=set)


@dataclass
class _Finished:
    job: ClaimedJob
    result: RunResult
    worker: str
    log_path: str | None


class DaskExecutor:
    def __init__(
        self,
        service: CoreService,
        spec: ClusterSpec,
        *,
        sink_uri: str,
        offline: bool = False,
        on_report: ReportCallback | None = None,
        kept: KeptCluster | None = None,
    ) -> None:
        self._service = service
        self._settings: Settings = service.settings
        self._queue = service.queue
        self._spec = spec
        self._sink_uri = absolute_folder_sink(sink_uri)
        self._offline = offline
        self._on_report = on_report
        self._name = f"{os.getpid()}-dask"
        self._input_keys = InputKeys(service.db)
        self._stopping = threading.Event()
        self._abandon = threading.Event()
        self._done: thread_queue.Queue[Future] = thread_queue.Queue()
        self._tasks: dict[Future, _Task] = {}
        self._backlog: deque[ClaimedJob] = deque()
        self._unrecorded: list[_Finished] = []
        self._given_back = 0  # jobs of cancelled tasks put back in the queue unrun
        self._looked_at = -STATE_SECS  # time.monotonic() of the last look at the cluster
        self._runnables: dict[tuple[str, str], RunnableParser] = {}
        self._loop: asyncio.AbstractEventLoop
        self._cluster: Cluster | None = None
        self._kept = kept  # the caller's cluster, kept open after this run; else one of our own

    @property
    def in_flight(self) -> int:
        """Jobs submitted to the cluster and not finished."""
        return sum(len(task.jobs) for task in list(self._tasks.values()))

    @property
    def cluster(self) -> Cluster | None:
        return self._cluster

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        opened = self._kept.get if self._kept is not None else partial(Cluster.open, self._spec)
        self._cluster = await asyncio.to_thread(opened)
        heartbeats = asyncio.create_task(self._heartbeat())
        try:
            await self._check_storage(self._cluster)
            drive = asyncio.ensure_future(asyncio.to_thread(self._drive, self._cluster))
            try:
                await asyncio.shield(drive)
            except asyncio.CancelledError:
                self.stop(abandon=True)
                await drive
                raise
        finally:
            heartbeats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeats
            if self._kept is None:
                await asyncio.to_thread(self._cluster.close)

    def stop(self, *, abandon: bool = False) -> None:
        if abandon:
            self._abandon.set()
        self._stopping.set()

    # Before anything is claimed.

    async def _check_storage(self, cluster: Cluster) -> None:
        from casparian_core.jobs.dask.worker import check_storage

        queued = await self._queue.jobs(JobQuery(status=JobStatus.QUEUED, limit=500))
        inputs: dict[str, str] = {}  # a folder -> one input in it
        readable: set[str] = set()
        for job in queued:
            inputs.setdefault(str(Path(job.input_path).parent), job.input_path)
            try:
                runnable = await self._runnable(job.parser_name, job.parser_version)
            except CasparianError:
                continue  # its jobs fail when claimed, each saying why
            readable.update((str(runnable.parser_path), str(runnable.venv / "bin" / "python")))
        sample = list(inputs.values())[:STORAGE_SAMPLE]
        output_dir = self._sink_uri.partition("://")[2]
        answers = await asyncio.to_thread(
            cluster.client.run,
            check_storage,
            sample,
            sorted(readable),
            output_dir,
            on_error="return",
        )
        problems = [
            f"{worker}: {problem}"
            for worker, answer in sorted(answers.items())
            for problem in _problems(answer)
        ]
        if problems:
            raise SharedStorageError(
                "Some Dask workers cannot use the shared storage, so nothing was run:\n  "
                + "\n  ".join(problems)
                + "\nEvery worker must see the inputs, the home (parsers, venvs, logs) and the "
                "output folder at the same paths as this machine (a shared filesystem)."
            )

    async def _runnable(self, name: str, version: str) -> RunnableParser:
        key = (name, version)
        if key not in self._runnables:
            registry = self._service.registry
            self._runnables[key] = await registry.runnable(name, version, offline=self._offline)
        return self._runnables[key]

    # The drive loop: a thread of its own (Dask's client calls block).

    def _drive(self, cluster: Cluster) -> None:
        window = self._look(cluster, 1)
        try:
            while True:
                if self._abandon.is_set():
                    self._give_back_all(cluster)
                    return
                if not self._stopping.is_set():
                    self._fill(cluster, window)
                if not self._tasks:
                    self._settle(0)
                    if self._stopping.is_set() or not self._wait_for_due():
                        return
                    continue
                self._collect()
                if cluster.lost:
                    self._scheduler_lost()
                window = self._look(cluster, window)
        finally:
            self._release_backlog()
            remove_cluster_state(self._settings.home)

    def _fill(self, cluster: Cluster, window: int) -> None:
        while len(self._tasks) < window and not cluster.lost:
            free = window - len(self._tasks)
            if not self._backlog:
                self._settle(free * FILES_PER_TASK)
            if not self._backlog:
                return
            jobs = self._take(free)
            batch = self._batch(jobs)
            if batch is None:
                continue  # its parser version cannot be made ready: its jobs failed
            from casparian_core.jobs.dask.worker import run_batch

            future = cluster.submit(run_batch, batch, key=f"casparian-{uuid.uuid4().hex}")
            self._tasks[future] = _Task(jobs)
            future.add_done_callback(self._done.put)

    def _take(self, free: int) -> list[ClaimedJob]:
        """The next batch from the backlog: a big input alone, else up to FILES_PER_TASK small
        inputs of the first one's parser version, spread over the free task slots."""
        first = self._backlog[0]
        same = [
            job
            for job in self._backlog
            if (job.parser_name, job.parser_version) == (first.parser_name, first.parser_version)
            and not _big(job)
        ]
        if _big(first) or not same:
            return [self._backlog.popleft()]
        size = max(1, min(FILES_PER_TASK, math.ceil(len(same) / max(free, 1))))
        taken = same[:size]
        for job in taken:
            self._backlog.remove(job)
        return taken

    def _batch(self, jobs: list[ClaimedJob]) -> BatchSpec | None:
        from casparian_core.jobs.dask.worker import BatchSpec, FileSpec

        first = jobs[0]
        try:
            runnable = asyncio.run_coroutine_threadsafe(
                self._runnable(first.parser_name, first.parser_version), self._loop
            ).result()
            keys = self._input_keys.of_all(jobs)  # one catalogue read for the batch
            files = tuple(
                FileSpec(job.job_id, job.input_path, key)
                for job, key in zip(jobs, keys, strict=True)
            )
        except CasparianError as exc:  # a corrupt artifact, a venv that does not build
            for job in jobs:
                self._record_failure(job, unrun_result(job, exc.error_code, str(exc)), None, None)
            return None
        return BatchSpec(
            first.parser_name,
            first.parser_version,
            str(runnable.parser_path),
            str(runnable.venv),
            self._sink_uri,
            json.dumps(self._settings.model_dump(mode="json")),
            files,
        )

    def _collect(self) -> None:
        """Wait for a task to end (or WAKE_SECS), then take every task that ended."""
        try:
            ended = [self._done.get(timeout=WAKE_SECS)]
        except thread_queue.Empty:
            return
        with contextlib.suppress(thread_queue.Empty):
            while True:
                ended.append(self._done.get_nowait())
        for future in ended:
            task = self._tasks.pop(future, None)
            if task is not None:
                self._finish(future, task)
            future.release()

    def _finish(self, future: Future, task: _Task) -> None:
        if future.status == "finished":
            try:
                outcome: BatchOutcome = future.result()
            except OSError:  # the scheduler went away as the result was fetched (CommClosedError)
                self._given_back += self._give_back([task])  # rerun: a part written is replaced
                return
            for job, file in zip(task.jobs, outcome.files, strict=True):
                if job.job_id not in task.cancelled:
                    self._finished(job, file.result, outcome.worker, file.log_path)
            return
        if future.status == "cancelled":  # the scheduler went away, or we cancelled it
            self._given_back += self._give_back([task])  # (jobs no longer ours stay as they are)
            return
        from distributed.scheduler import KilledWorker

        exc = future.exception()
        jobs = [job for job in task.jobs if job.job_id not in task.cancelled]
        if isinstance(exc, KilledWorker):
            self._lost(jobs, str(getattr(exc.last_worker, "address", exc.last_worker)))
            return
        message = f"its Dask task failed: {type(exc).__name__}: {exc}"
        for job in jobs:
            result = unrun_result(job, ErrorCode.UNKNOWN_ERROR, message, transient=True)
            self._record_failure(job, result, None, None)

    def _lost(self, jobs: list[ClaimedJob], worker: str) -> None:
        """The worker died with these jobs' task (KilledWorker): each attempt is lost, maybe
        never started; retried like the jobs of a dead local worker (WORKER_LOST), which is no
        failure of their parser: a batch lost must not trip its circuit breaker."""
        message = f"the Dask worker {worker} died while this job's task was on it"
        moved = self._queue.requeue_lost_now([job.job_id for job in jobs], self._name, message)
        for job in jobs:
            if job.job_id in moved:
                result = unrun_result(job, ErrorCode.WORKER_LOST, message, transient=True)
                self._report(JobReport(job, result, moved[job.job_id]))

    def _finished(self, job: ClaimedJob, result: RunResult, worker: str, log: str | None) -> None:
        """A success waits for the next settle (with the next claim); anything else now."""
        if result.ok:
            self._unrecorded.append(_Finished(job, result, worker, log))
        elif result.status == RunStatus.CANCELLED:
            if self._abandon.is_set() and self._queue.release_now(job.job_id, self._name):
                self._report(JobReport(job, result, JobStatus.QUEUED, log_path=log))
        else:
            self._record_failure(job, result, worker, log)

    def _record_failure(
        self, job: ClaimedJob, result: RunResult, worker: str | None, log: str | None
    ) -> None:
        failure = dataclasses.replace(failure_of(result), ran_on=worker)
        outcome = self._queue.fail_now(job.job_id, self._name, failure)
        if outcome is None:
            return  # no longer ours: cancelled, or requeued as stale
        if outcome.paused_parser:
            self._release_paused(job.parser_name)
        self._report(
            JobReport(
                job, result, outcome.status, outcome.next_attempt_at, outcome.paused_parser, log
            )
        )

    def _settle(self, claim_up_to: int) -> None:
        """Record the finished jobs complete and claim up to `claim_up_to` more, in one write
        transaction; the claimed ones join the backlog."""
        if not self._unrecorded and not claim_up_to:
            return
        finished = {done.job.job_id: done for done in self._unrecorded}
        self._unrecorded.clear()
        settled = self._queue.settle_now(
            self._name,
            [(job_id, _success(done)) for job_id, done in finished.items()],
            claim_up_to,
            sink=self._sink_uri,  # only the jobs queued for its sink (queue.claim)
        )
        for job_id in settled.completed:
            done = finished[job_id]
            status = queue.completed_status(_success(done))
            self._report(JobReport(done.job, done.result, status, log_path=done.log_path))
        self._backlog.extend(settled.claimed)

    # Stopping, losing the scheduler, cancelling.

    def _scheduler_lost(self) -> None:
        self._settle(0)
        given_back = self._given_back + self._give_back(self._tasks.values())
        self._tasks.clear()
        given_back += len(self._backlog)
        self._release_backlog()
        raise ClusterError(
            f"{self._spec.describe()} went away: claiming stopped; the jobs that had finished "
            f"were recorded, the {given_back} others in flight went back to the queue (an "
            "output already written is replaced when they run again). Start the scheduler "
            "again, then `casparian process` resumes them."
        )

    def _give_back_all(self, cluster: Cluster) -> None:
        """Ctrl+C twice: stop the running jobs on their workers and put them all back."""
        self._settle(0)
        tasks = list(self._tasks.items())
        self._tasks.clear()
        job_ids = [job.job_id for _, task in tasks for job in task.jobs]
        if job_ids and not cluster.lost:
            for future, _ in tasks:
                future.cancel()
            self._stop_on_workers(job_ids)
        self._give_back(task for _, task in tasks)

    def _give_back(self, tasks: Iterable[_Task]) -> int:
        released = 0
        for task in list(tasks):
            for job in task.jobs:
                if job.job_id not in task.cancelled and self._queue.release_now(
                    job.job_id, self._name
                ):
                    released += 1
                    result = unrun_result(job, None, "", cancelled=True)
                    self._report(JobReport(job, result, JobStatus.QUEUED))
        return released

    def _release_backlog(self) -> None:
        while self._backlog:
            self._queue.release_now(self._backlog.popleft().job_id, self._name)

    def _release_paused(self, parser_name: str) -> None:
        """The parser was just paused: its claimed jobs not submitted go back unrun, and its
        tasks on the workers are cancelled: one not started never runs, a running one stops
        (WarmSessions.transition), and their jobs go back to the queue when their futures
        report it (`_finish`; an input that committed meanwhile is replaced when run again)."""
        for job in [job for job in self._backlog if job.parser_name == parser_name]:
            self._backlog.remove(job)
            self._queue.release_now(job.job_id, self._name)
        for future, task in list(self._tasks.items()):
            if task.jobs[0].parser_name == parser_name:  # a task holds one parser version
                future.cancel()

    def _stop_on_workers(self, job_ids: list[str]) -> None:
        """Stop these jobs on whichever workers run them (their guests stop)."""
        from casparian_core.jobs.dask.worker import cancel_jobs

        if self._cluster is None or self._cluster.lost:
            return
        with contextlib.suppress(Exception):  # a worker gone meanwhile has nothing to stop
            self._cluster.client.run(cancel_jobs, job_ids, on_error="ignore")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_secs)
            refused: list[str] = []
            for job in [job for task in list(self._tasks.values()) for job in task.jobs]:
                if not await self._queue.heartbeat(job.job_id, self._name):
                    refused.append(job.job_id)
            for job in list(self._backlog):
                await self._queue.heartbeat(job.job_id, self._name)
            if refused:
                self._cancel(refused)
                await asyncio.to_thread(self._stop_on_workers, refused)

    def _cancel(self, job_ids: list[str]) -> None:
        """The queue took these jobs back: their outcomes are not recorded; a task left with
        none of its jobs is cancelled (if it has not started, it never will)."""
        for future, task in list(self._tasks.items()):
            task.cancelled.update(j.job_id for j in task.jobs if j.job_id in job_ids)
            if len(task.cancelled) == len(task.jobs):
                future.cancel()

    def _wait_for_due(self) -> bool:
        """Nothing in flight or claimable: wait for the earliest retry due (True), or end."""
        with self._service.db.reading() as conn:
            due = queue.next_due(conn, sink=self._sink_uri)
        if due is None:
            return False
        delay = (datetime.fromisoformat(due) - self._service.clock()).total_seconds()
        if delay > 0:
            self._stopping.wait(min(delay, MAX_IDLE_WAIT_SECS))
        return True

    def _look(self, cluster: Cluster, window: int) -> int:
        """At most once every STATE_SECS: the cluster's threads (the window: workers come
        and go), and what `status` shows of it. Returns the window."""
        now = time.monotonic()
        if now < self._looked_at + STATE_SECS:
            return window
        self._looked_at = now
        try:
            threads = cluster.client.nthreads()
        except Exception:  # the scheduler is going away: the loop sees it next
            return window
        state = ClusterState(
            os.getpid(),
            cluster.address,
            len(threads),
            sum(threads.values()),
            self.in_flight,
            local=self._spec.scheduler is None,
        )
        write_cluster_state(self._settings.home, state)
        return TASKS_PER_THREAD * max(state.threads, 1)

    def _report(self, report: JobReport) -> None:
        if self._on_report is not None:
            self._loop.call_soon_threadsafe(self._on_report, report)


def absolute_folder_sink(uri: str) -> str:
    """The sink's URI with an absolute folder (the workers' current folders are not ours).
    Only folder sinks: several workers write one part file each; a database file takes one
    writing process."""
    scheme, _, rest = uri.partition("://")
    if scheme not in FOLDER_SCHEMES or not rest:
        raise ConfigError(
            f"The Dask executor writes to folder sinks only (parquet://DIR or arrow://DIR on "
            f"storage every worker reaches), not {uri!r}: a database file takes one writing "
            "process; use `--executor local` for it."
        )
    return f"{scheme}://{Path(rest).expanduser().resolve()}"


def _big(job: ClaimedJob) -> bool:
    try:
        return os.path.getsize(job.input_path) >= SMALL_FILE_BYTES
    except OSError:
        return False  # the worker reports it: the driver's view is not the workers'


def _success(done: _Finished) -> JobSuccess:
    return dataclasses.replace(success_of(done.result), ran_on=done.worker)


def _problems(answer: object) -> list[str]:
    if isinstance(answer, BaseException):
        return [
            f"cannot run Casparian's code ({type(answer).__name__}: {answer}): install "
            "casparian-flow[dask] on every worker"
        ]
    return [str(problem) for problem in answer] if isinstance(answer, list) else []
