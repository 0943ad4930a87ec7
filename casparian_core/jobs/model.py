"""What the job queue takes and gives: requests, claimed jobs, failures, and the records the
Jobs CLI and screen show. Plain dataclasses; the SQL that fills them is in queue.py, health.py
and fingerprint.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

# The retry policy (DESIGN §9): a transient failure is retried MAX_RETRIES times, waiting
# settings.retry_backoff_secs (by default BACKOFF_SECS) before each retry; the next failure moves
# the job to the dead letters. Defined in config, which validates the setting against them.
from casparian_core.config import BACKOFF_SECS as BACKOFF_SECS
from casparian_core.config import MAX_RETRIES as MAX_RETRIES
from casparian_core.errors import ErrorCode
from casparian_core.jobs.status import JobStatus

# The circuit breaker: this many failures of one parser in a row pause it.
FAILURES_BEFORE_PAUSE = 5
# Statuses in which a job is done with, for now: it may be retried by hand.
FINISHED_STATUSES = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.COMPLETED_WITH_WARNINGS,
        JobStatus.FAILED,
        JobStatus.DEAD_LETTER,
        JobStatus.CANCELLED,
    }
)


@dataclass(frozen=True)
class JobRequest:
    """One input to process with one parser version."""

    parser_name: str
    parser_version: str
    input_path: str
    file_id: int | None = None  # its scout_files row, when it was catalogued
    input_hash: str | None = None  # its content hash when enqueued, when known
    priority: int = 0  # higher first
    batch_id: str | None = None  # the run (a `process` invocation, a daemon batch) it belongs to
    input_key: str | None = None  # how the outputs know the input; None: from file_id or path
    backfill_id: str | None = None  # a backfill's job: only its pool claims it (backfill/)
    # The sink it is for (sinks.uri.canonical_uri): only a pool writing there claims it. None:
    # any pool (jobs queued before jobs carried their sink).
    sink_uri: str | None = None


@dataclass(frozen=True)
class Enqueued:
    """The job of a request: a new one, or the one already queued or running for it."""

    job_id: str
    created: bool


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker claimed: it runs it, heartbeats, and completes or fails it."""

    job_id: str
    parser_name: str
    parser_version: str
    input_path: str
    file_id: int | None
    input_hash: str | None
    attempt: int  # 1 for the first run, 2 for the first retry, ...
    batch_id: str | None
    input_key: str | None = None  # set by a replay: the key its earlier parts have


@dataclass(frozen=True)
class Settled:
    """What one settle (queue.settle) did: the jobs it recorded complete (those still the
    worker's) and those it claimed, in claim order."""

    completed: list[str]
    claimed: list[ClaimedJob]


@dataclass(frozen=True)
class JobSuccess:
    """What a completed job produced."""

    rows_out: int
    rows_quarantined: int = 0
    outputs: Mapping[str, object] = field(default_factory=dict)  # per output: location, rows
    input_hash: str | None = None  # the content actually processed, when the worker knows it
    ran_on: str | None = None  # the worker that ran it, when not the claimer (a Dask worker)


@dataclass(frozen=True)
class JobFailure:
    """How a job failed. `transient` comes from the run (RunResult.transient), never from the
    error code's text: only a transient failure is retried."""

    error_code: ErrorCode
    message: str
    transient: bool
    traceback: str | None = None
    context: Mapping[str, object] = field(default_factory=dict)  # for the fingerprint
    ran_on: str | None = None  # the worker that ran it, when not the claimer (a Dask worker)


@dataclass(frozen=True)
class FailOutcome:
    """Where a failure left the job, and whether it paused its parser."""

    status: JobStatus  # QUEUED (a retry is due at next_attempt_at), FAILED or DEAD_LETTER
    next_attempt_at: str | None
    fingerprint: str
    paused_parser: bool


@dataclass(frozen=True)
class JobQuery:
    """Which jobs to list: newest first."""

    status: JobStatus | None = None
    parser_name: str | None = None
    batch_id: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class JobRecord:
    """A job as the Jobs CLI and screen show it."""

    job_id: str
    parser_name: str
    parser_version: str
    input_path: str
    status: JobStatus
    priority: int
    attempts: int
    enqueued_at: str
    next_attempt_at: str
    claimed_by: str | None
    heartbeat_at: str | None
    started_at: str | None
    finished_at: str | None
    error_code: ErrorCode | None
    error_message: str | None
    rows_out: int | None
    rows_quarantined: int | None
    batch_id: str | None
    file_id: int | None
    input_hash: str | None
    fingerprint: str | None
    ran_on: str | None = None  # the Dask worker that ran it last (None: the claimer did)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class RunRecord:
    """One run (a `process` invocation or a daemon batch: the jobs of one batch_id) as the Jobs
    screen lists it. Jobs enqueued outside any batch make one run whose batch_id is ''."""

    batch_id: str
    parsers: tuple[str, ...]  # sorted
    total: int
    completed: int  # with or without warnings
    warned: int  # of those, completed with rows quarantined
    failed: int  # failed for good or dead-lettered
    running: int
    queued: int
    cancelled: int
    enqueued_at: str  # its first job's
    started_at: str | None  # its first claim
    finished_at: str | None  # its last job's end, once none is queued or running

    @property
    def done(self) -> int:
        """Jobs the run is finished with, whatever their outcome."""
        return self.completed + self.failed + self.cancelled

    @property
    def status(self) -> JobStatus:
        """RUNNING while a job runs, QUEUED while jobs wait, then FAILED if any failed, else
        CANCELLED if all were cancelled, else COMPLETED_WITH_WARNINGS if any quarantined rows,
        else COMPLETED."""
        if self.running:
            return JobStatus.RUNNING
        if self.queued:
            return JobStatus.QUEUED
        if self.failed:
            return JobStatus.FAILED
        if self.cancelled == self.total:
            return JobStatus.CANCELLED
        if self.warned:
            return JobStatus.COMPLETED_WITH_WARNINGS
        return JobStatus.COMPLETED


@dataclass(frozen=True)
class DeadLetter:
    """A job that failed for good or ran out of retries; never deleted, replayable."""

    id: int
    job_id: str
    parser_name: str
    parser_version: str
    input_path: str
    error_code: ErrorCode | None
    error_message: str | None
    retry_count: int
    reason: str
    moved_at: str
    replayed_at: str | None

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class JobDetail:
    """One job in full: its record, trace, outputs and dead letters."""

    job: JobRecord
    traceback: str | None
    outputs: dict[str, object]
    dead_letters: list[DeadLetter]

    def as_json(self) -> dict[str, object]:
        return {
            **self.job.as_json(),
            "traceback": self.traceback,
            "outputs": self.outputs,
            "dead_letters": [entry.as_json() for entry in self.dead_letters],
        }


@dataclass(frozen=True)
class ParserHealth:
    """A parser's circuit breaker."""

    parser_name: str
    consecutive_failures: int
    paused_at: str | None
    last_failure_reason: str | None
    total_executions: int
    total_failures: int

    @property
    def paused(self) -> bool:
        return self.paused_at is not None
