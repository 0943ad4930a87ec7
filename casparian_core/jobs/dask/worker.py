"""What runs on a Dask worker: the plugin that keeps its warm sessions, the task that runs a
batch of jobs through them, and the two functions the driver runs on every worker (the shared
storage check, and cancelling jobs).

`WarmSessions` is registered once per cluster connection (`client.register_plugin`); Dask gives
every worker its own copy, set up on that worker and again on a worker that replaces a dead one.
A session (`ParserSession`: one parser version, one warm guest, one sink) is opened lazily by
the first batch of its parser version, kept between batches, and closed after
settings.worker_recycle_jobs jobs or when its guest's memory exceeds
settings.worker_max_guest_rss_mb, as the local pool does; each task thread takes a session of
its own (one thread drives a session at a time). The guests end with their worker: they die
with the process that started them (children.py), however it ends.

A task returns small results (each input's RunResult without its preview or contract, where its
log is, which worker ran it): table data goes from the guest to the shared sink, never through
Dask.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from casparian_core.config import Settings
from casparian_core.engine.results import InputItem, RunResult, RunStatus
from casparian_core.engine.session import ParserSession
from casparian_core.errors import CasparianError
from casparian_core.jobs.logs import JobLog, job_log_path
from casparian_core.jobs.pool import worn_out
from casparian_core.sinks import open_sink

PLUGIN_NAME = "casparian-sessions"
MAX_PROBLEMS = 5  # a storage check names this many problems per worker at most


@dataclass(frozen=True)
class FileSpec:
    """One job of a batch: its input and the key that names its rows in the outputs."""

    job_id: str
    input_path: str
    input_key: str


@dataclass(frozen=True)
class BatchSpec:
    """Jobs of one parser version run by one task, each its own job (all-or-nothing per
    input: a failed input commits nothing, the others are unaffected)."""

    parser_name: str
    parser_version: str
    parser_path: str  # the registered artifact's parser file, on shared storage
    venv: str
    sink_uri: str  # absolute: the worker's current folder is not the driver's
    settings_json: str
    files: tuple[FileSpec, ...]

    @property
    def session_key(self) -> tuple[str, ...]:
        return (self.parser_path, self.venv, self.sink_uri, self.settings_json)


@dataclass(frozen=True)
class FileOutcome:
    result: RunResult  # outputs without preview or contract
    log_path: str | None  # the job's log, when the guest logged anything


@dataclass(frozen=True)
class BatchOutcome:
    worker: str  # the worker's address
    files: tuple[FileOutcome, ...]
    seconds: float  # the task's own time on the worker


@dataclass
class _Warm:
    session: ParserSession
    jobs: int = 0


@dataclass
class _State:
    """A worker's sessions not in use, and the cancel events of the jobs it runs."""

    idle: dict[tuple[str, ...], list[_Warm]] = field(default_factory=dict)
    cancels: dict[str, threading.Event] = field(default_factory=dict)
    tasks: dict[object, list[str]] = field(default_factory=dict)  # task key -> its job ids
    lock: threading.Lock = field(default_factory=threading.Lock)


class WarmSessions(WorkerPlugin):
    """Picklable as constructed (Dask ships it to each worker); the state is made in setup."""

    name = PLUGIN_NAME
    idempotent = True  # registering again (another driver) keeps the warm guests

    def __init__(self) -> None:
        self._state = _State()

    def setup(self, worker: Any) -> None:
        self._state = _State()

    def teardown(self, worker: Any) -> None:
        with self._state.lock:
            warm = [w for idle in self._state.idle.values() for w in idle]
            self._state.idle.clear()
        for each in warm:
            each.session.close()

    def __getstate__(self) -> dict[str, object]:
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._state = _State()

    def run(self, batch: BatchSpec, key: object) -> list[FileOutcome]:
        settings = _settings(batch.settings_json)
        cancels = {spec.job_id: threading.Event() for spec in batch.files}
        with self._state.lock:
            self._state.cancels.update(cancels)
            self._state.tasks[key] = list(cancels)
        try:
            try:
                warm = self._checkout(batch, settings)
            except CasparianError as exc:  # the venv is not one: each job fails, unstarted
                return [FileOutcome(_unstarted(batch, spec, exc), None) for spec in batch.files]
            outcomes = self._run_on(warm, batch, settings, cancels)
            self._checkin(batch, warm, settings)
            return outcomes
        finally:
            with self._state.lock:
                self._state.tasks.pop(key, None)
                for job_id in cancels:
                    self._state.cancels.pop(job_id, None)

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        """A running task the scheduler no longer wants (its future cancelled, its driver
        gone) is released: Dask marks it cancelled but lets its thread run on, so its jobs are
        stopped here, their guest with them."""
        if start in ("executing", "long-running") and finish == "released":
            with self._state.lock:
                job_ids = list(self._state.tasks.get(key, ()))
            self.cancel(job_ids)

    def cancel(self, job_ids: list[str]) -> int:
        """Stop these jobs if they run here (their guest is stopped); how many did."""
        with self._state.lock:
            found = [self._state.cancels[j] for j in job_ids if j in self._state.cancels]
        for event in found:
            event.set()
        return len(found)

    def _run_on(
        self,
        warm: _Warm,
        batch: BatchSpec,
        settings: Settings,
        cancels: dict[str, threading.Event],
    ) -> list[FileOutcome]:
        logs: list[JobLog] = []
        try:
            for spec in batch.files:
                log = JobLog(
                    job_log_path(settings.logs_dir, spec.job_id, datetime.now(UTC)),
                    settings.log_cap_bytes,
                )
                logs.append(log)
                cancel = cancels[spec.job_id]
                item = InputItem(
                    Path(spec.input_path), spec.input_key, spec.job_id, log.write, cancel
                )
                warm.session.submit(item)
                warm.jobs += 1
            results = list(warm.session.results(wait=True))
        except BaseException:
            warm.session.close()  # a bug or an interrupt: this guest is not kept
            raise
        return [
            FileOutcome(_small(result), str(log.path) if log.path.exists() else None)
            for result, log in zip(results, logs, strict=True)
        ]

    def _checkout(self, batch: BatchSpec, settings: Settings) -> _Warm:
        with self._state.lock:
            idle = self._state.idle.get(batch.session_key)
            if idle:
                return idle.pop()
        session = ParserSession(
            Path(batch.parser_path),
            settings,
            open_sink(batch.sink_uri),
            venv=Path(batch.venv),
        )
        return _Warm(session)

    def _checkin(self, batch: BatchSpec, warm: _Warm, settings: Settings) -> None:
        if worn_out(warm.session, warm.jobs, settings):
            warm.session.close()
            return
        with self._state.lock:
            self._state.idle.setdefault(batch.session_key, []).append(warm)


def run_batch(batch: BatchSpec) -> BatchOutcome:
    """The task: run the batch's jobs through this worker's warm session for their version."""
    started = time.perf_counter()
    worker = get_worker()
    plugin = worker.plugins[PLUGIN_NAME]
    assert isinstance(plugin, WarmSessions), "registered by cluster.Cluster.open"
    files = plugin.run(batch, worker.get_current_task())
    return BatchOutcome(worker.address, tuple(files), time.perf_counter() - started)


def cancel_jobs(job_ids: list[str], dask_worker: Any) -> int:
    """Run on a worker (client.run): stop those of these jobs it is running."""
    plugin: WarmSessions | None = dask_worker.plugins.get(PLUGIN_NAME)
    return 0 if plugin is None else plugin.cancel(job_ids)


def check_storage(inputs: list[str], readable: list[str], output_dir: str) -> list[str]:
    """Run on every worker (client.run) before anything is claimed: what of the shared storage
    this worker cannot use (empty: all well). `inputs` are opened and read, `readable` (the
    parsers' files, their venvs' Python) looked up, and a file written in `output_dir`."""
    problems: list[str] = []
    for path in inputs:
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            problems.append(f"cannot read the input {path} ({exc.strerror})")
    problems += [f"cannot see {path}" for path in readable if not os.path.exists(path)]
    probe = Path(output_dir) / f".casparian-probe-{uuid.uuid4().hex}"
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        problems.append(f"cannot write in the output folder {output_dir} ({exc.strerror})")
    return problems[:MAX_PROBLEMS]


@lru_cache(maxsize=8)
def _settings(settings_json: str) -> Settings:
    return Settings.model_validate(json.loads(settings_json))


def _small(result: RunResult) -> RunResult:
    """The result without what only a bench shows (the preview rows, the contract)."""
    outputs = [dataclasses.replace(o, spec=None, preview=None) for o in result.outputs]
    return dataclasses.replace(result, outputs=outputs)


def _unstarted(batch: BatchSpec, spec: FileSpec, exc: CasparianError) -> RunResult:
    return RunResult(
        parser_name=batch.parser_name,
        parser_version=batch.parser_version,
        input_path=Path(spec.input_path),
        status=RunStatus.FAILED,
        job_id=spec.job_id,
        error_code=exc.error_code,
        error_message=str(exc),
    )
