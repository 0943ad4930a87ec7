"""One worker of a `ProcessPool` in a process of its own (`python -m` this module).

A local pool of one worker (pool.py: it claims, runs through a warm `ParserSession`, heartbeats,
completes or fails each job in the queue) with its own database connections and its own
interpreter lock, so that N workers use N cores. It imports only what running jobs needs (not
the service and its faces): it starts in a third of the time.

Its parent speaks to it through its standard streams:
- stdin: first one JSON line, the settings, the sink, whether to build venvs offline and the
  CPUs to run on (jobs/cpu_shares.py); then
  `stop` (claim nothing more, finish what is in flight) or `abandon` (stop what is in flight
  too, committing nothing of it, and give it back to the queue). End of input means abandon: the
  parent is gone or gave up on us.
- stdout: one JSON line per report (`encode_report`), which the parent decodes.
It ends with its parent (children.end_with_parent) and claims under the name its parent gives it
(`{parent's pid}-{n}-1`): the jobs of a pool whose process died are orphans, as with a pool of
threads.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from casparian_core import children, stage_times
from casparian_core.config import Settings
from casparian_core.db.gateway import Gateway
from casparian_core.engine.results import OutputResult, RunResult, RunStatus
from casparian_core.errors import ErrorCode
from casparian_core.events import EventBus
from casparian_core.jobs.executor import JobReport
from casparian_core.jobs.facade import JobQueue
from casparian_core.jobs.long_lived import freeze_for_exit, frozen_after_first
from casparian_core.jobs.model import ClaimedJob
from casparian_core.jobs.pool import LocalPool
from casparian_core.jobs.status import JobStatus
from casparian_core.jobs.unused_libraries import hide_unused_libraries
from casparian_core.registry.facade import Registry

STOP = "stop"
ABANDON = "abandon"
_JOB_FIELDS = tuple(field.name for field in fields(ClaimedJob))
_OUTPUT_FIELDS = (
    "name",
    "location",
    "rows",
    "quarantined",
    "rows_rolled_back",
    "quarantined_rolled_back",
    "skipped",
    "inferred",
)


def encode_report(report: JobReport) -> str:
    """A report as one JSON line: what the parent's summary, progress and events need (an
    output's preview and contract stay here)."""
    result = report.result
    return json.dumps(
        {
            # Not dataclasses.asdict, which deep-copies each field (~20 us a report).
            "job": {name: getattr(report.job, name) for name in _JOB_FIELDS},
            "status": report.status,
            "next_attempt_at": report.next_attempt_at,
            "paused_parser": report.paused_parser,
            "log_path": report.log_path,
            "result": {
                "parser_name": result.parser_name,
                "parser_version": result.parser_version,
                "input_path": str(result.input_path),
                "status": result.status,
                "job_id": result.job_id,
                "error_code": result.error_code,
                "error_message": result.error_message,
                "traceback": result.traceback,
                "suggestion": result.suggestion,
                "duration_s": result.duration_s,
                "input_bytes": result.input_bytes,
                "transient": result.transient,
                "outputs": [
                    {
                        **{name: getattr(output, name) for name in _OUTPUT_FIELDS},
                        "reasons": dict(output.reasons),
                    }
                    for output in result.outputs
                ],
            },
        }
    )


def decode_report(line: str) -> JobReport:
    raw: dict[str, Any] = json.loads(line)
    result: dict[str, Any] = raw["result"]
    outputs = [
        OutputResult(**{name: output[name] for name in _OUTPUT_FIELDS})
        for output in result["outputs"]
    ]
    for output, encoded in zip(outputs, result["outputs"], strict=True):
        output.reasons.update(encoded["reasons"])
    code = result["error_code"]
    return JobReport(
        job=ClaimedJob(**raw["job"]),
        result=RunResult(
            parser_name=result["parser_name"],
            parser_version=result["parser_version"],
            input_path=Path(result["input_path"]),
            status=RunStatus(result["status"]),
            job_id=result["job_id"],
            error_code=None if code is None else ErrorCode(code),
            error_message=result["error_message"],
            traceback=result["traceback"],
            suggestion=result["suggestion"],
            duration_s=result["duration_s"],
            input_bytes=result["input_bytes"],
            outputs=outputs,
            transient=result["transient"],
        ),
        status=JobStatus(raw["status"]),
        next_attempt_at=raw["next_attempt_at"],
        paused_parser=raw["paused_parser"],
        log_path=raw["log_path"],
    )


def main() -> int:
    children.end_with_parent()  # a pool whose process ended has no use for us
    hide_unused_libraries()  # this process is ours alone, and runs jobs
    config = json.loads(sys.stdin.readline())
    settings = Settings.model_validate(config["settings"])
    asyncio.run(
        _serve(
            settings,
            config["sink_uri"],
            config["offline"],
            config["name"],
            config["group"],
            None if config["cpus"] is None else frozenset(config["cpus"]),
            sys.stdout,
        )
    )
    freeze_for_exit()  # the process ends now
    return 0


async def _serve(
    settings: Settings,
    sink_uri: str,
    offline: bool,
    name: str,
    group: str | None,
    cpus: frozenset[int] | None,
    out: TextIO,
) -> None:
    db = Gateway(settings.database_path)
    await asyncio.to_thread(db.open)
    events = EventBus()

    def clock() -> datetime:
        return datetime.now(UTC)

    written: list[str] = []  # reports of the pool's current delivery (a settle's)

    def write_all() -> None:
        # One write for them all, whatever the stream's buffering (PYTHONUNBUFFERED too).
        out.write("".join(written))
        out.flush()
        written.clear()

    @frozen_after_first
    def report(job_report: JobReport) -> None:
        stage_times.since_start("first job reported (worker process)")
        if not written:  # the first of a delivery: written once the delivery is done
            asyncio.get_running_loop().call_soon(write_all)
        written.append(encode_report(job_report) + "\n")

    pool = LocalPool(
        settings,
        db,
        JobQueue(db, events, clock, settings.retry_backoff_secs),
        Registry(settings, db, events, clock),
        clock,
        workers=1,
        sink_uri=sink_uri,
        offline=offline,
        on_report=report,
        name=name,
        group=group,
        cpus=cpus,
    )
    threading.Thread(target=_follow_commands, args=(pool,), daemon=True).start()
    try:
        await pool.run()
    finally:
        events.close()
        await asyncio.to_thread(db.close)


def _follow_commands(pool: LocalPool) -> None:
    for line in sys.stdin:
        if line.strip() in (STOP, ABANDON):
            pool.stop(abandon=line.strip() == ABANDON)
    pool.stop(abandon=True)


if __name__ == "__main__":
    sys.exit(main())
