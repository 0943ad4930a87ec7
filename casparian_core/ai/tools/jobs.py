"""Tools over the prod job queue (`service.queue`): runs, jobs filtered and paged, one job with
its error, trace and log tail; retrying and cancelling a job are pending actions."""

from __future__ import annotations

import asyncio

from pydantic import Field

from casparian_core.ai.conversation import ActionKind
from casparian_core.ai.tools.base import (
    DEFAULT_CAP_BYTES,
    Params,
    Tool,
    ToolEnv,
    ToolInputError,
    ToolOutput,
    as_json,
    clip,
    clip_start,
    fitting,
)
from casparian_core.ai.tools.changes import propose
from casparian_core.jobs.log_tail import find_job_log, read_tail
from casparian_core.jobs.model import JobQuery, JobRecord
from casparian_core.jobs.queue import REQUEUEABLE
from casparian_core.jobs.status import JobStatus

PAGE_MAX = 200
RUNS_MAX = 100
MESSAGE_CHARS = 300  # of an error message in a list
TRACE_CHARS = 4000  # the end of a traceback: where it failed
LOG_LINES_MAX = 200
ROOM_FOR_THE_REST = 1024
CANCELLABLE = (JobStatus.QUEUED, JobStatus.RUNNING)
STATUS = Field(None, description="only this status: " + ", ".join(JobStatus))


class ListRuns(Params):
    status: JobStatus | None = STATUS
    limit: int = Field(20, ge=1, le=RUNS_MAX, description="runs to return, failed ones first")


async def list_runs(env: ToolEnv, params: ListRuns) -> ToolOutput:
    statuses = None if params.status is None else frozenset({params.status})
    runs = await env.service.queue.runs(statuses, params.limit)
    rows = [
        {
            "run": run.batch_id,
            "status": str(run.status),
            "parsers": list(run.parsers),
            "jobs": run.total,
            "completed": run.completed,
            "with_quarantine": run.warned,
            "failed": run.failed,
            "running": run.running,
            "queued": run.queued,
            "cancelled": run.cancelled,
            "enqueued_at": run.enqueued_at,
            "finished_at": run.finished_at,
        }
        for run in runs
    ]
    shown = fitting(rows, DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    result: dict[str, object] = {"runs": shown}
    if len(shown) < len(rows) or len(rows) == params.limit:
        result["note"] = f"{len(shown)} runs shown; there may be more (raise limit)"
    return ToolOutput(as_json(result), f"{len(shown)} runs")


class ListJobs(Params):
    status: JobStatus | None = STATUS
    parser: str | None = Field(None, description="only jobs of this parser (its name)")
    run: str | None = Field(None, description="only jobs of this run (its id, from list_runs)")
    offset: int = Field(0, ge=0, description="jobs to skip (paging), newest first")
    limit: int = Field(50, ge=1, le=PAGE_MAX, description="jobs to return")


JOB_COLUMNS = [
    "job_id",
    "parser",
    "input_path",
    "status",
    "attempts",
    "rows_out",
    "rows_quarantined",
    "error_code",
    "error_message",
    "fingerprint",
    "finished_at",
]


async def list_jobs(env: ToolEnv, params: ListJobs) -> ToolOutput:
    query = JobQuery(params.status, params.parser, params.run, params.limit, params.offset)
    jobs = await env.service.queue.jobs(query)
    shown = fitting([_job_row(job) for job in jobs], DEFAULT_CAP_BYTES - ROOM_FOR_THE_REST)
    result: dict[str, object] = {"columns": JOB_COLUMNS, "jobs": shown, "offset": params.offset}
    if len(shown) < len(jobs):
        result["note"] = f"page cut to {len(shown)} jobs to fit"
    if len(shown) < len(jobs) or len(jobs) == params.limit:
        result["next_offset"] = params.offset + len(shown)
    return ToolOutput(as_json(result), f"{len(shown)} jobs")


def _job_row(job: JobRecord) -> list[object]:
    return [
        job.job_id,
        f"{job.parser_name}@{job.parser_version}",
        job.input_path,
        str(job.status),
        job.attempts,
        job.rows_out,
        job.rows_quarantined,
        job.error_code,
        clip(job.error_message, MESSAGE_CHARS),
        job.fingerprint,
        job.finished_at,
    ]


class JobDetailParams(Params):
    job_id: str = Field(description="the job's id (32 hex digits)")
    log_lines: int = Field(40, ge=0, le=LOG_LINES_MAX, description="lines of its log's end")


async def job_detail(env: ToolEnv, params: JobDetailParams) -> ToolOutput:
    detail = await env.service.queue.job(params.job_id)
    job = detail.job
    result: dict[str, object] = {
        **job.as_json(),
        "error_message": clip(job.error_message, TRACE_CHARS),
        "traceback": clip_start(detail.traceback, TRACE_CHARS),
        "outputs": detail.outputs,
        "dead_letters": [
            {"reason": d.reason, "moved_at": d.moved_at, "replayed_at": d.replayed_at}
            for d in detail.dead_letters
        ],
    }
    if job.fingerprint is not None:
        error = await env.service.queue.error(job.fingerprint)
        result["fingerprint_seen"] = {
            "occurrences": error.summary.occurrences,
            "files": error.summary.files,
        }
    if params.log_lines:
        logs = env.service.settings.logs_dir
        path = await asyncio.to_thread(find_job_log, logs, job.job_id)
        tail = [] if path is None else await asyncio.to_thread(read_tail, path, params.log_lines)
        result["log_tail"] = [clip(line, MESSAGE_CHARS) for line in tail]
    return ToolOutput(as_json(result), f"job {job.job_id[:8]}: {job.status}")


class JobId(Params):
    job_id: str = Field(description="the job's id (32 hex digits)")


async def retry_job(env: ToolEnv, params: JobId) -> ToolOutput:
    job = (await env.service.queue.job(params.job_id)).job
    if job.status not in REQUEUEABLE:
        raise ToolInputError(
            f"The job is {job.status}: only a failed, dead-lettered or cancelled job is retried."
        )
    summary = f"Retry job {job.job_id[:8]} ({job.parser_name}@{job.parser_version})"
    message = clip(job.error_message, MESSAGE_CHARS)
    error = f": {job.error_code}: {message}" if job.error_code else ""
    effect = (
        f"Queue job {job.job_id} again, as new (attempts start again at 0):\n"
        f"  {job.parser_name}@{job.parser_version} on {job.input_path}\n"
        f"  now {job.status}{error}\n"
        "A worker (`casparian process` or the daemon) then runs it."
    )
    return await propose(env, ActionKind.RETRY_JOB, summary, effect, {"job_id": job.job_id})


async def cancel_job(env: ToolEnv, params: JobId) -> ToolOutput:
    job = (await env.service.queue.job(params.job_id)).job
    if job.status not in CANCELLABLE:
        raise ToolInputError(f"The job is {job.status}: only a queued or running job is cancelled.")
    summary = f"Cancel job {job.job_id[:8]} ({job.parser_name}@{job.parser_version})"
    effect = (
        f"Cancel job {job.job_id} ({job.status}): {job.parser_name}@{job.parser_version} on "
        f"{job.input_path}.\nA running job's worker stops it at its next heartbeat; nothing it "
        "wrote is kept. retry_job can queue it again later."
    )
    return await propose(env, ActionKind.CANCEL_JOB, summary, effect, {"job_id": job.job_id})


TOOLS = (
    Tool(
        "list_runs",
        "The prod runs (a `process` invocation or a daemon batch), failed ones first, with their "
        "jobs counted by outcome.",
        ListRuns,
        list_runs,
    ),
    Tool(
        "list_jobs",
        "Jobs of the prod queue, newest first, filtered by status, parser and run, paged; each "
        "with its error and fingerprint.",
        ListJobs,
        list_jobs,
    ),
    Tool(
        "job_detail",
        "One job in full: its error, the end of its traceback, its outputs, dead letters, how "
        "often its error fingerprint was seen, and the end of its log.",
        JobDetailParams,
        job_detail,
    ),
    Tool(
        "retry_job",
        "Propose queuing a failed, dead-lettered or cancelled job again. Creates a pending "
        "action for the user to approve; changes nothing itself.",
        JobId,
        retry_job,
    ),
    Tool(
        "cancel_job",
        "Propose cancelling a queued or running job. Creates a pending action for the user to "
        "approve; changes nothing itself.",
        JobId,
        cancel_job,
    ),
)
