"""The durable job queue (`cf_processing_queue`, `cf_dead_letter`, `cf_processing_history`,
owned here): DESIGN §9, with procrastinate as the model: the SQL is short and all here.

Every function takes a connection (the gateway's writer, or a worker process's own) and `now`
(the caller's clock, so tests need no sleeps) and runs in one write transaction of its own,
which locks the control database only (db.connection.write_transaction).
- enqueue: one job per (input, parser, version) while it is queued or running (a partial
  unique index); asking again returns that job.
- claim: picks the due jobs of highest priority, then oldest, of parsers that are not paused,
  and takes them with one UPDATE ... RETURNING; two workers never get the same job. A pool
  claims only the jobs of its sink (a job carries the sink it was queued for), or of its
  backfill. A worker
  running small files takes several at once (claim_batch), and records the completions of the
  jobs it finished in the same transaction (settle): one write transaction per batch.
- heartbeat / complete / fail / release act only on a job the worker still holds (RUNNING and
  claimed by it): a job requeued as stale and claimed by another worker is not theirs any more.
- fail: a transient failure (the run's own verdict, RunResult.transient) is retried after
  settings.retry_backoff_secs (1 s, 4 s, 16 s); a permanent one fails at once; either, when
  final, goes to `cf_dead_letter` (never deleted; `replay` queues it again). Every failure
  counts against the parser's circuit breaker (health.py) and is fingerprinted (fingerprint.py).
- requeue_stale (the zombie sweep) and reset_orphans (on a daemon's start) return abandoned
  jobs to the queue, or to the dead letters once out of retries.
History is the audit trail of what version processed which input (backfill reads it); whether
an input was already processed is answered by the sink (docs/architecture.md).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from casparian_core.db.connection import format_timestamp, write_transaction
from casparian_core.errors import ErrorCode
from casparian_core.jobs import fingerprint, health
from casparian_core.jobs.errors import JobAlreadyQueuedError, JobNotFoundError, JobStateError
from casparian_core.jobs.model import (
    BACKOFF_SECS,
    MAX_RETRIES,
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
    RunRecord,
    Settled,
)
from casparian_core.jobs.status import UNFINISHED, JobStatus
from casparian_core.processes import left_by_dead_process

# Statuses written into SQL as literals: a partial index is used only for a literal its WHERE
# clause names, never for a bound parameter. The claim names its index: without statistics
# (no ANALYZE) SQLite picked another (the status index there was then) and sorted every queued
# job for each claim.
QUEUED, RUNNING = f"'{JobStatus.QUEUED}'", f"'{JobStatus.RUNNING}'"

# A job is active (queued or running) until it finishes: each end (completed, failed for good,
# dead-lettered, cancelled) sets finished_at and each return to the queue clears it. The unique
# index of active jobs (cf_queue_active) is partial on this, not on the status, so a claim
# (QUEUED to RUNNING) leaves it alone: a page less to write.
ACTIVE = "finished_at IS NULL"

_CLAIMED = (
    "id, parser_name, parser_version, input_path, file_id, input_hash, attempts, batch_id,"
    " input_key"
)
_RECORD = (
    "id, parser_name, parser_version, input_path, status, priority, attempts, enqueued_at,"
    " next_attempt_at, claimed_by, heartbeat_at, started_at, finished_at, error_code,"
    " error_message, rows_out, rows_quarantined, batch_id, file_id, input_hash, fingerprint,"
    " ran_on, sink_uri"
)
_DEAD_LETTER = (
    "id, original_job_id, parser_name, parser_version, input_path, error_code, error_message,"
    " retry_count, reason, moved_at, replayed_at"
)

ENQUEUE = f"""
INSERT INTO cf_processing_queue (id, parser_name, parser_version, input_path, file_id,
    input_hash, status, priority, enqueued_at, next_attempt_at, batch_id, input_key, backfill_id,
    sink_uri)
VALUES (?, ?, ?, ?, ?, ?, {QUEUED}, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
"""

# Which queued jobs a pool may claim: those of its backfill (`:group`, whatever their sink: its
# pool writes the backfill's staging area), or, outside a backfill, those of its sink (`:sink`;
# None: any) and those queued before jobs carried their sink.
CLAIMABLE = """
backfill_id IS :group
  AND (:group IS NOT NULL OR :sink IS NULL OR sink_uri IS NULL OR sink_uri = :sink)
  AND parser_name NOT IN (SELECT parser_name FROM cf_parser_health WHERE paused_at IS NOT NULL)
"""

# The claim picks the due jobs (at most :limit) in claim order, then takes them; both in one
# write transaction, so no other worker can take them in between.
PICK = f"""
SELECT id FROM cf_processing_queue INDEXED BY cf_queue_claim
WHERE status = {QUEUED} AND next_attempt_at <= :now AND {CLAIMABLE}
ORDER BY priority DESC, enqueued_at
LIMIT :limit
"""

CLAIM = f"""
UPDATE cf_processing_queue
SET status = {RUNNING}, claimed_by = :worker, attempts = attempts + 1,
    started_at = :now, heartbeat_at = :now
WHERE id IN (SELECT value FROM json_each(:ids))
RETURNING {_CLAIMED}
"""

HELD = f"id = :job AND status = {RUNNING} AND claimed_by = :worker"

HEARTBEAT = f"UPDATE cf_processing_queue SET heartbeat_at = :now WHERE {HELD}"

COMPLETE = f"""
UPDATE cf_processing_queue
SET status = :status, finished_at = :now, rows_out = :rows, rows_quarantined = :quarantined,
    outputs = :outputs, input_hash = coalesce(:hash, input_hash), ran_on = :ran_on,
    error_code = NULL, error_message = NULL, traceback = NULL, fingerprint = NULL
WHERE {HELD}
RETURNING input_path, input_hash, parser_name, parser_version
"""

RETRY_LATER = f"""
UPDATE cf_processing_queue
SET status = {QUEUED}, next_attempt_at = :next, claimed_by = NULL, heartbeat_at = NULL,
    ran_on = :ran_on,
    error_code = :code, error_message = :message, traceback = :traceback, fingerprint = :fp
WHERE {HELD}
"""

FAIL_FOR_GOOD = f"""
UPDATE cf_processing_queue
SET status = :status, finished_at = :now, ran_on = :ran_on,
    error_code = :code, error_message = :message, traceback = :traceback, fingerprint = :fp
WHERE {HELD}
"""

RELEASE = f"""
UPDATE cf_processing_queue
SET status = {QUEUED}, attempts = attempts - 1, claimed_by = NULL, heartbeat_at = NULL,
    started_at = NULL
WHERE {HELD}
"""

DEAD_LETTER = """
INSERT INTO cf_dead_letter (original_job_id, parser_name, parser_version, input_path,
    error_code, error_message, retry_count, reason, moved_at)
SELECT id, parser_name, parser_version, input_path, error_code, error_message,
    max(attempts - 1, 0), :reason, :now
FROM cf_processing_queue WHERE id = :job
"""

HISTORY = """
INSERT INTO cf_processing_history (job_id, input_path, input_hash, parser_name, parser_version,
    status, rows_out, rows_quarantined, processed_at, ran_on)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


class _HistoryRow(NamedTuple):
    """A completed job's row of cf_processing_history, in HISTORY's order."""

    job_id: str
    input_path: str
    input_hash: str | None
    parser_name: str
    parser_version: str
    status: str
    rows_out: int
    rows_quarantined: int
    processed_at: str
    ran_on: str | None


# Jobs whose worker is gone: back to the queue while retries are left, to the dead letters
# after. `{whose}` selects them among the running jobs.
ABANDON_RETRY = f"""
UPDATE cf_processing_queue
SET status = {QUEUED}, next_attempt_at = :now, claimed_by = NULL, heartbeat_at = NULL,
    error_code = '{ErrorCode.WORKER_LOST}', error_message = :message
WHERE status = {RUNNING} AND {{whose}} AND attempts <= {MAX_RETRIES}
RETURNING id
"""
ABANDON_FOR_GOOD = f"""
UPDATE cf_processing_queue
SET status = '{JobStatus.DEAD_LETTER}', finished_at = :now,
    error_code = '{ErrorCode.WORKER_LOST}', error_message = :message
WHERE status = {RUNNING} AND {{whose}} AND attempts > {MAX_RETRIES}
RETURNING id
"""

CANCEL = f"""
UPDATE cf_processing_queue SET status = '{JobStatus.CANCELLED}', finished_at = :now
WHERE id = :job AND status IN ({QUEUED}, {RUNNING})
"""

REQUEUE = f"""
UPDATE cf_processing_queue
SET status = {QUEUED}, attempts = 0, next_attempt_at = :now, claimed_by = NULL,
    heartbeat_at = NULL, started_at = NULL, finished_at = NULL
WHERE id = :job
"""

# Retried or replayed by hand: only a job that is done with.
REQUEUEABLE = (JobStatus.FAILED, JobStatus.DEAD_LETTER, JobStatus.CANCELLED)


def new_job_id() -> str:
    return uuid.uuid4().hex


def worker_id(slot: int = 0) -> str:
    """The id a worker claims under: `{pid}-{slot}`, so that a job held by a worker whose
    process ended is recognised as orphaned (processes.left_by_dead_process)."""
    return f"{os.getpid()}-{slot}"


def enqueue(
    conn: sqlite3.Connection, requests: Sequence[JobRequest], now: datetime
) -> list[Enqueued]:
    """A job per request, due now; a request whose input already has a queued or running job
    of that parser version gets that job (created False)."""
    at = format_timestamp(now)
    made: list[Enqueued] = []
    with write_transaction(conn):
        for request in requests:
            job_id = new_job_id()
            inserted = conn.execute(
                ENQUEUE,
                (
                    job_id,
                    request.parser_name,
                    request.parser_version,
                    request.input_path,
                    request.file_id,
                    request.input_hash,
                    request.priority,
                    at,
                    at,
                    request.batch_id,
                    request.input_key,
                    request.backfill_id,
                    request.sink_uri,
                ),
            ).rowcount
            made.append(
                Enqueued(job_id, True) if inserted else Enqueued(_active(conn, request), False)
            )
    return made


def _active(conn: sqlite3.Connection, request: JobRequest) -> str:
    job_id: str = conn.execute(
        "SELECT id FROM cf_processing_queue WHERE input_path = ? AND parser_name = ?"
        f" AND parser_version = ? AND sink_uri IS ? AND {ACTIVE}",
        (request.input_path, request.parser_name, request.parser_version, request.sink_uri),
    ).fetchone()[0]
    return job_id


def claim(
    conn: sqlite3.Connection,
    worker: str,
    now: datetime,
    group: str | None = None,
    sink: str | None = None,
) -> ClaimedJob | None:
    """The next job for `worker`, now RUNNING; None when no job is due. A backfill's jobs are
    claimed only by its own pool (`group`, its id), whose output goes to its staging area;
    other jobs only by a pool of the sink they were queued for (`sink`; None: any)."""
    claimed = claim_batch(conn, worker, now, group, 1, sink)
    return claimed[0] if claimed else None


def claim_batch(
    conn: sqlite3.Connection,
    worker: str,
    now: datetime,
    group: str | None,
    limit: int,
    sink: str | None = None,
) -> list[ClaimedJob]:
    """Up to `limit` next jobs for `worker` (see claim), all RUNNING, in claim order."""
    return settle(conn, worker, now, (), limit, group, sink).claimed


def settle(
    conn: sqlite3.Connection,
    worker: str,
    now: datetime,
    completions: Sequence[tuple[str, JobSuccess]],
    claim_up_to: int = 0,
    group: str | None = None,
    sink: str | None = None,
) -> Settled:
    """In one write transaction: complete the jobs `worker` finished (see complete), then claim
    up to `claim_up_to` next jobs (see claim)."""
    at = format_timestamp(now)
    with write_transaction(conn):
        history = [
            row
            for job, success in completions
            if (row := _complete(conn, job, worker, success, at)) is not None
        ]
        # One statement each for all the completions (most small jobs settle in batches).
        conn.executemany(HISTORY, history)
        for parser_name in {row.parser_name for row in history}:
            health.record_success(conn, parser_name)
        completed = [row.job_id for row in history]
        claimed: list[ClaimedJob] = []
        if claim_up_to:
            params = {"now": at, "group": group, "sink": sink, "limit": claim_up_to}
            ids = [job_id for (job_id,) in conn.execute(PICK, params)]
            taken = {
                row[0]: ClaimedJob(*row)
                for row in conn.execute(
                    CLAIM, {"worker": worker, "now": at, "ids": json.dumps(ids)}
                )
            }
            claimed = [taken[job_id] for job_id in ids]
    return Settled(completed, claimed)


def heartbeat(conn: sqlite3.Connection, job_id: str, worker: str, now: datetime) -> bool:
    """Note that `worker` still runs the job. False: the job is no longer its (cancelled, or
    requeued as stale): the worker should stop it."""
    with write_transaction(conn):
        return _held(conn, HEARTBEAT, job_id, worker, now=format_timestamp(now))


def complete(
    conn: sqlite3.Connection, job_id: str, worker: str, success: JobSuccess, now: datetime
) -> bool:
    """The job succeeded: recorded in its row and in the history, its parser's failure count
    reset. False if the job is no longer the worker's."""
    return bool(settle(conn, worker, now, [(job_id, success)]).completed)


def completed_status(success: JobSuccess) -> JobStatus:
    return JobStatus.COMPLETED_WITH_WARNINGS if success.rows_quarantined else JobStatus.COMPLETED


def _complete(
    conn: sqlite3.Connection, job_id: str, worker: str, success: JobSuccess, at: str
) -> _HistoryRow | None:
    """Inside the caller's transaction: the job's history row, or None when the job is no
    longer the worker's."""
    status = completed_status(success)
    params = {
        "job": job_id,
        "worker": worker,
        "now": at,
        "status": status,
        "rows": success.rows_out,
        "quarantined": success.rows_quarantined,
        "outputs": json.dumps(success.outputs),
        "hash": success.input_hash,
        "ran_on": success.ran_on,
    }
    row = conn.execute(COMPLETE, params).fetchone()
    if row is None:
        return None
    input_path, input_hash, parser_name, parser_version = row
    return _HistoryRow(
        job_id,
        input_path,
        input_hash,
        parser_name,
        parser_version,
        status,
        success.rows_out,
        success.rows_quarantined,
        at,
        success.ran_on,
    )


def fail(
    conn: sqlite3.Connection,
    job_id: str,
    worker: str,
    failure: JobFailure,
    now: datetime,
    backoff: Sequence[float] = BACKOFF_SECS,
) -> FailOutcome | None:
    """The job failed. Transient with retries left: queued again, due after its backoff (the
    wait `backoff` gives for this retry, settings.retry_backoff_secs).
    Otherwise FAILED (permanent) or DEAD_LETTER (out of retries), with a dead letter saying
    why. None if the job is no longer the worker's."""
    at = format_timestamp(now)
    with write_transaction(conn):
        row = conn.execute(
            f"SELECT attempts, parser_name, parser_version, input_path FROM cf_processing_queue"
            f" WHERE {HELD}",
            {"job": job_id, "worker": worker},
        ).fetchone()
        if row is None:
            return None
        attempts, parser_name, parser_version, input_path = row
        where = fingerprint.Occurrence(
            job_id, parser_name, parser_version, input_path, failure.message
        )
        found = fingerprint.signature(failure.error_code, failure.traceback, failure.context)
        fp = fingerprint.record(conn, found, where, at)
        paused = health.record_failure(
            conn, parser_name, f"{failure.error_code}: {failure.message}", at
        )
        params = {
            "job": job_id,
            "worker": worker,
            "now": at,
            "code": failure.error_code,
            "message": failure.message,
            "traceback": failure.traceback,
            "fp": fp,
            "ran_on": failure.ran_on,
        }
        if failure.transient and attempts <= MAX_RETRIES:
            due = format_timestamp(now + timedelta(seconds=backoff[attempts - 1]))
            conn.execute(RETRY_LATER, {**params, "next": due})
            return FailOutcome(JobStatus.QUEUED, due, fp, paused)
        if failure.transient:
            status = JobStatus.DEAD_LETTER
            reason = (
                f"failed {attempts} times ({MAX_RETRIES} retries), last with {failure.error_code}"
            )
        else:
            status = JobStatus.FAILED
            reason = f"permanent failure ({failure.error_code}): not retried"
        conn.execute(FAIL_FOR_GOOD, {**params, "status": status})
        conn.execute(DEAD_LETTER, {"job": job_id, "reason": reason, "now": at})
    return FailOutcome(status, None, fp, paused)


def release(conn: sqlite3.Connection, job_id: str, worker: str) -> bool:
    """Give a claimed job back unrun (a worker stopping before it ran it): queued again, the
    attempt not counted. False if the job is no longer the worker's."""
    with write_transaction(conn):
        return _held(conn, RELEASE, job_id, worker)


def _held(conn: sqlite3.Connection, sql: str, job_id: str, worker: str, **params: Any) -> bool:
    return conn.execute(sql, {"job": job_id, "worker": worker, **params}).rowcount == 1


def requeue_stale(
    conn: sqlite3.Connection, stale_after: timedelta, now: datetime
) -> dict[str, JobStatus]:
    """The zombie sweep: running jobs with no heartbeat for `stale_after` go back to the queue
    (or, out of retries, to the dead letters). Returns their ids and new statuses."""
    cutoff = format_timestamp(now - stale_after)
    message = f"its worker sent no heartbeat for {stale_after.total_seconds():g} s"
    with write_transaction(conn):
        return _abandon(conn, "heartbeat_at < :cutoff", {"cutoff": cutoff}, message, now)


def reset_orphans(
    conn: sqlite3.Connection,
    now: datetime,
    worker_gone: Callable[[str], bool] = left_by_dead_process,
) -> dict[str, JobStatus]:
    """On a daemon's start: running jobs whose worker's process has ended go back to the queue
    (or, out of retries, to the dead letters). Returns their ids and new statuses."""
    with write_transaction(conn):
        running = conn.execute(
            f"SELECT DISTINCT claimed_by FROM cf_processing_queue WHERE status = {RUNNING}"
        )
        gone = {
            f"w{index}": worker for index, (worker,) in enumerate(running) if worker_gone(worker)
        }
        if not gone:
            return {}
        whose = f"claimed_by IN ({', '.join(f':{name}' for name in gone)})"
        return _abandon(conn, whose, gone, "its worker's process ended while it ran", now)


def requeue_lost(
    conn: sqlite3.Connection, job_ids: Sequence[str], worker: str, message: str, now: datetime
) -> dict[str, JobStatus]:
    """Jobs `worker` holds whose attempt was lost with the machine running them (a Dask worker
    that died): back to the queue, or to the dead letters once out of retries, as orphans go;
    not a failure of their parser (its circuit breaker does not count them)."""
    whose = "claimed_by = :worker AND id IN (SELECT value FROM json_each(:ids))"
    params = {"worker": worker, "ids": json.dumps(list(job_ids))}
    with write_transaction(conn):
        return _abandon(conn, whose, params, message, now)


def _abandon(
    conn: sqlite3.Connection, whose: str, params: dict[str, str], message: str, now: datetime
) -> dict[str, JobStatus]:
    """Inside the caller's transaction."""
    at = format_timestamp(now)
    params = {**params, "now": at, "message": message}
    again = [job for (job,) in conn.execute(ABANDON_RETRY.format(whose=whose), params)]
    lost = [job for (job,) in conn.execute(ABANDON_FOR_GOOD.format(whose=whose), params)]
    reason = f"{message}, after {MAX_RETRIES} retries"
    for job_id in lost:
        conn.execute(DEAD_LETTER, {"job": job_id, "reason": reason, "now": at})
    return {job_id: JobStatus.QUEUED for job_id in again} | {
        job_id: JobStatus.DEAD_LETTER for job_id in lost
    }


def cancel(conn: sqlite3.Connection, job_id: str, now: datetime) -> None:
    """Cancel a queued or running job (a running job's worker learns it at its next
    heartbeat, and stops it)."""
    with write_transaction(conn):
        if conn.execute(CANCEL, {"job": job_id, "now": format_timestamp(now)}).rowcount == 0:
            status = _status(conn, job_id)
            raise JobStateError(job_id, status, "only a queued or running job can be cancelled")


def requeue(
    conn: sqlite3.Connection, job_id: str, now: datetime, *, dead_letter_only: bool = False
) -> None:
    """Queue a finished job again by hand, as new (no attempts counted): `jobs retry` (a
    failed, dead-lettered or cancelled job), or with `dead_letter_only` `jobs replay` (a job
    with a dead letter not yet replayed). Its dead letters are marked replayed, never
    deleted."""
    at = format_timestamp(now)
    with write_transaction(conn):
        status = _status(conn, job_id)
        open_letters = conn.execute(
            "SELECT count(*) FROM cf_dead_letter WHERE original_job_id = ? AND replayed_at IS NULL",
            (job_id,),
        ).fetchone()[0]
        if dead_letter_only and not open_letters:
            raise JobStateError(
                job_id, status, "it has no dead letter to replay (`casparian jobs --dead-letter`)"
            )
        if status not in REQUEUEABLE:
            raise JobStateError(
                job_id, status, "only a failed, dead-lettered or cancelled job can be retried"
            )
        try:
            conn.execute(REQUEUE, {"job": job_id, "now": at})
        except sqlite3.IntegrityError:  # the partial unique index: another job is active
            row = _record(conn, job_id)
            assert row is not None
            request = JobRequest(
                row.parser_name, row.parser_version, row.input_path, sink_uri=row.sink_uri
            )
            other = _active(conn, request)
            raise JobAlreadyQueuedError(job_id, other) from None
        conn.execute(
            "UPDATE cf_dead_letter SET replayed_at = ? WHERE original_job_id = ?"
            " AND replayed_at IS NULL",
            (at, job_id),
        )


def _status(conn: sqlite3.Connection, job_id: str) -> JobStatus:
    row = conn.execute("SELECT status FROM cf_processing_queue WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise JobNotFoundError(job_id)
    return JobStatus(row[0])


# --- reading ------------------------------------------------------------------------------


# Counts by status, from the runs' counts (cf_runs, kept by the triggers of schema.MIGRATION_9
# and 16): an index on the status would move each job inside it on every claim and
# completion, a third of the pages those wrote. The runs count queued and running jobs
# together (`active`); the few running ones are counted in their own index.
RUNNING_JOBS = f"SELECT count(*) FROM cf_processing_queue WHERE status = {RUNNING}"
ENDED = tuple(status for status in JobStatus if status not in UNFINISHED)
COUNTS = (
    f"SELECT ({RUNNING_JOBS}), sum(active),"
    f" {', '.join(f'sum({status.lower()})' for status in ENDED)} FROM cf_runs"
)


def counts(conn: sqlite3.Connection) -> dict[JobStatus, int]:
    """How many jobs are in each status (statuses with none are left out)."""
    running, active, *ended = conn.execute(COUNTS).fetchone()
    found = {
        JobStatus.QUEUED: (active or 0) - running,
        JobStatus.RUNNING: running,
        **dict(zip(ENDED, ended, strict=True)),
    }
    return {status: count for status, count in found.items() if count}


def version_counts(
    conn: sqlite3.Connection, parser_name: str, parser_version: str
) -> tuple[dict[JobStatus, int], int]:
    """One parser version's jobs by status, and how many runs its history records (what
    `casparian parser show` tells)."""
    rows = conn.execute(
        "SELECT status, count(*) FROM cf_processing_queue WHERE parser_name = ?"
        " AND parser_version = ? GROUP BY status",
        (parser_name, parser_version),
    )
    processed = conn.execute(
        "SELECT count(*) FROM cf_processing_history WHERE parser_name = ? AND parser_version = ?",
        (parser_name, parser_version),
    ).fetchone()[0]
    return {JobStatus(status): count for status, count in rows}, processed


# The statuses of jobs a person looks into, listed through a partial index of their own
# (cf_queue_attention, schema.MIGRATION_16). SQLite uses a partial index only for a query that
# states its condition word for word, so a listing of one of them adds NEEDS_A_LOOK.
NEED_A_LOOK = (
    JobStatus.COMPLETED_WITH_WARNINGS,
    JobStatus.FAILED,
    JobStatus.DEAD_LETTER,
    JobStatus.CANCELLED,
)
NEEDS_A_LOOK = "status IN (" + ", ".join(f"'{status}'" for status in NEED_A_LOOK) + ")"


def jobs(conn: sqlite3.Connection, query: JobQuery) -> list[JobRecord]:
    """The jobs `query` selects, newest first."""
    filters = {"parser_name": query.parser_name, "batch_id": query.batch_id}
    chosen = {name: value for name, value in filters.items() if value is not None}
    terms = [f"{name} = :{name}" for name in chosen]
    if query.status is not None:
        status = JobStatus(query.status)
        terms.append(f"status = '{status}'")
        if status in NEED_A_LOOK:
            terms.append(NEEDS_A_LOOK)
    where = " AND ".join(terms) or "1"
    rows = conn.execute(
        f"SELECT {_RECORD} FROM cf_processing_queue WHERE {where}"
        " ORDER BY enqueued_at DESC, rowid DESC LIMIT :limit OFFSET :offset",
        {**chosen, "limit": query.limit, "offset": query.offset},
    )
    return [_to_record(row) for row in rows]


# The Jobs screen's runs: failed ones first, then newest first, read from the summary the
# triggers of schema.MIGRATION_9 and 16 keep (cf_runs, cf_run_parsers), with each run's running
# jobs counted in their own index (the summary counts them with the queued ones). A status
# filter keeps the runs that have a job in one of the statuses (a column of `counted` each).
RUNS = f"""
WITH running AS (
    SELECT coalesce(batch_id, '') AS batch, count(*) AS jobs FROM cf_processing_queue
    WHERE status = {RUNNING} GROUP BY 1
), counted AS (
    SELECT r.*, ifnull(n.jobs, 0) AS running, active - ifnull(n.jobs, 0) AS queued
    FROM cf_runs AS r LEFT JOIN running AS n USING (batch)
)
SELECT batch,
    (SELECT group_concat(parser_name) FROM cf_run_parsers AS p WHERE p.batch = c.batch),
    total, completed + completed_with_warnings, completed_with_warnings,
    failed + dead_letter, running, queued, cancelled, enqueued_at, started_at, finished_at
FROM counted AS c
WHERE {{having}}
ORDER BY failed + dead_letter > 0 DESC, enqueued_at DESC, batch
LIMIT :limit
"""
# A run's jobs: failed first, then running, then in the order they were queued.
RUN_JOBS = f"""
SELECT {_RECORD} FROM cf_processing_queue
WHERE batch_id IS :batch AND {{where}}
ORDER BY status IN ('{JobStatus.FAILED}', '{JobStatus.DEAD_LETTER}') DESC,
    status = {RUNNING} DESC, enqueued_at, rowid
LIMIT :limit
"""
ID_CHUNK = 500  # ids bound at once: well under SQLite's limit on parameters


def runs(
    conn: sqlite3.Connection, statuses: frozenset[JobStatus] | None = None, limit: int = 500
) -> list[RunRecord]:
    """The runs (jobs grouped by batch), failed ones first, then newest first; with `statuses`,
    only the runs that have a job in one of them."""
    having = " OR ".join(f"{status.lower()} > 0" for status in sorted(statuses or ())) or "1"
    return [_to_run(row) for row in conn.execute(RUNS.format(having=having), {"limit": limit})]


def _to_run(row: Any) -> RunRecord:
    batch, parsers, total, completed, warned, failed, running, queued, cancelled = row[:9]
    enqueued_at, started_at, finished_at = row[9:]
    return RunRecord(
        batch,
        tuple(sorted(parsers.split(","))),
        total,
        completed,
        warned,
        failed,
        running,
        queued,
        cancelled,
        enqueued_at,
        started_at,
        None if running or queued else finished_at,
    )


def run_jobs(
    conn: sqlite3.Connection,
    batch_id: str,
    statuses: frozenset[JobStatus] | None = None,
    limit: int = 100_000,
) -> list[JobRecord]:
    """The jobs of a run (batch_id '' is the jobs queued outside any batch): failed first,
    then running, then in queue order; with `statuses`, only those in one of them."""
    params: dict[str, object] = {"batch": batch_id or None, "limit": limit}
    where = "1"
    if statuses:
        where = f"status IN ({_bind(params, 's', sorted(statuses))})"
    rows = conn.execute(RUN_JOBS.format(where=where), params)
    return [_to_record(row) for row in rows]


def jobs_by_id(conn: sqlite3.Connection, job_ids: Sequence[str]) -> list[JobRecord]:
    """The jobs with these ids (those that exist), in no particular order."""
    found: list[JobRecord] = []
    for start in range(0, len(job_ids), ID_CHUNK):
        params: dict[str, object] = {}
        names = _bind(params, "j", job_ids[start : start + ID_CHUNK])
        rows = conn.execute(
            f"SELECT {_RECORD} FROM cf_processing_queue WHERE id IN ({names})", params
        )
        found.extend(_to_record(row) for row in rows)
    return found


def _bind(params: dict[str, object], prefix: str, values: Sequence[object]) -> str:
    """Add `values` to `params` as :prefix0, :prefix1, ...; returns those names, joined."""
    names = [f"{prefix}{index}" for index in range(len(values))]
    params.update(zip(names, values, strict=True))
    return ", ".join(f":{name}" for name in names)


def job(conn: sqlite3.Connection, job_id: str) -> JobDetail:
    """One job in full; raises JobNotFoundError."""
    record = _record(conn, job_id)
    if record is None:
        raise JobNotFoundError(job_id)
    traceback, outputs = conn.execute(
        "SELECT traceback, outputs FROM cf_processing_queue WHERE id = ?", (job_id,)
    ).fetchone()
    return JobDetail(
        record,
        traceback,
        json.loads(outputs) if outputs else {},
        dead_letters(conn, job_id=job_id, include_replayed=True),
    )


def _record(conn: sqlite3.Connection, job_id: str) -> JobRecord | None:
    row = conn.execute(f"SELECT {_RECORD} FROM cf_processing_queue WHERE id = ?", (job_id,))
    found = row.fetchone()
    return None if found is None else _to_record(found)


def _to_record(row: Any) -> JobRecord:
    values = list(row)
    values[4] = JobStatus(values[4])
    values[13] = None if values[13] is None else ErrorCode(values[13])
    return JobRecord(*values)


def dead_letters(
    conn: sqlite3.Connection,
    *,
    parser_name: str | None = None,
    job_id: str | None = None,
    include_replayed: bool = False,
    limit: int = 100,
) -> list[DeadLetter]:
    """Dead letters, newest first: those not replayed yet, unless `include_replayed`."""
    clauses = ["1"]
    if parser_name is not None:
        clauses.append("parser_name = :parser")
    if job_id is not None:
        clauses.append("original_job_id = :job")
    if not include_replayed:
        clauses.append("replayed_at IS NULL")
    rows = conn.execute(
        f"SELECT {_DEAD_LETTER} FROM cf_dead_letter WHERE {' AND '.join(clauses)}"
        " ORDER BY moved_at DESC, id DESC LIMIT :limit",
        {"parser": parser_name, "job": job_id, "limit": limit},
    )
    return [_to_dead_letter(row) for row in rows]


def _to_dead_letter(row: Any) -> DeadLetter:
    values = list(row)
    values[5] = None if values[5] is None else ErrorCode(values[5])
    return DeadLetter(*values)


def next_due(
    conn: sqlite3.Connection, group: str | None = None, sink: str | None = None
) -> str | None:
    """When the earliest queued job of a parser that is not paused becomes claimable (a retry
    waiting out its backoff) by a pool of `group` and `sink` (see claim); None when no such job
    is queued."""
    row = conn.execute(
        "SELECT min(next_attempt_at) FROM cf_processing_queue"
        f" WHERE status = {QUEUED} AND {CLAIMABLE}",
        {"group": group, "sink": sink},
    ).fetchone()
    return None if row is None else row[0]


# The input key a pool runs each job under (pool.LocalPool._input_key): a replay's own key,
# else the catalogue's "source/rel" (input_keys.input_key), else the job's path.
JOB_INPUTS = """
SELECT q.parser_name, q.parser_version,
    coalesce(q.input_key, s.name || '/' || f.rel_path, q.input_path)
FROM cf_processing_queue AS q
LEFT JOIN scout_files AS f ON f.id = q.file_id
LEFT JOIN scout_sources AS s ON s.id = f.source_id
WHERE {where}
"""


def queued_inputs(
    conn: sqlite3.Connection, sink: str | None, group: str | None = None
) -> list[tuple[str, ...]]:
    """(parser, version, input key) of each queued job a pool of `sink` and `group` claims
    (see claim)."""
    where = f"q.status = {QUEUED} AND {CLAIMABLE}"
    found = conn.execute(JOB_INPUTS.format(where=where), {"sink": sink, "group": group})
    return [tuple(row) for row in found]


def active_inputs(conn: sqlite3.Connection) -> list[tuple[str, ...]]:
    """(parser, version, input key) of each queued or running job, of any pool."""
    where = f"q.{ACTIVE}"
    return [tuple(row) for row in conn.execute(JOB_INPUTS.format(where=where))]


def latest_jobs(
    conn: sqlite3.Connection, parser_name: str, parser_version: str, sink: str | None = None
) -> dict[str, tuple[JobStatus, str]]:
    """For each input of a parser version: the status of its latest job for `sink` (None: any;
    jobs queued before jobs carried their sink count for every sink) and when that job was
    queued. The daemon plans from it what is neither active nor failed unchanged."""
    rows = conn.execute(
        "SELECT input_path, status, max(enqueued_at) FROM cf_processing_queue"
        " WHERE parser_name = ? AND parser_version = ?"
        " AND (? IS NULL OR sink_uri IS NULL OR sink_uri = ?) GROUP BY input_path",
        (parser_name, parser_version, sink, sink),
    )
    return {path: (JobStatus(status), at) for path, status, at in rows}


def processed_inputs(conn: sqlite3.Connection, parser_name: str) -> list[tuple[Any, ...]]:
    """For each input the parser processed, from its history: (input path, the version that
    processed it last, that job's file id and input key). A backfill's job counts only once
    its backfill swapped its output in (before, its rows are staged, not in the output)."""
    rows = conn.execute(
        "SELECT h.input_path, h.parser_version, q.file_id, q.input_key, max(h.id)"
        " FROM cf_processing_history AS h JOIN cf_processing_queue AS q ON q.id = h.job_id"
        " WHERE h.parser_name = ? AND (q.backfill_id IS NULL OR q.backfill_id IN"
        " (SELECT id FROM cf_backfills WHERE status = 'DONE'))"
        " GROUP BY h.input_path ORDER BY h.input_path",
        (parser_name,),
    )
    return [tuple(row[:4]) for row in rows]


def recent_runs(conn: sqlite3.Connection, parser_name: str, limit: int) -> list[tuple[str, ...]]:
    """The parser's last `limit` completed jobs: (input path, started_at, finished_at), the
    throughput a backfill's estimate is made from."""
    rows = conn.execute(
        "SELECT input_path, started_at, finished_at FROM cf_processing_queue"
        f" WHERE parser_name = ? AND status IN ('{JobStatus.COMPLETED}',"
        f" '{JobStatus.COMPLETED_WITH_WARNINGS}') AND started_at IS NOT NULL"
        " ORDER BY finished_at DESC LIMIT ?",
        (parser_name, limit),
    )
    return [tuple(row) for row in rows]
