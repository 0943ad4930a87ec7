"""`casparian jobs [--status S] [--parser P] [--dead-letter] [--json]`, `jobs show|retry|cancel|
replay ID`: the job queue (docs/queue.md) through `service.queue`."""

from __future__ import annotations

import argparse
import json

from casparian_cli.service_call import with_service
from casparian_core.api import DeadLetter, JobDetail, JobQuery, JobRecord, JobStatus
from casparian_core.config import Settings

# `--status pending` is what the Home Hub calls a queued job.
STATUS_WORDS = {"pending": JobStatus.QUEUED} | {status.lower(): status for status in JobStatus}
TRACE_LINES = 40  # the end of a trace: where it failed


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "jobs",
        help="list the job queue's jobs, or show, retry, cancel or replay one",
        description="List jobs, newest first. `casparian jobs show ID` shows one in full.",
    )
    parser.add_argument(
        "--status",
        type=_status,
        metavar="S",
        help="only jobs in this status: pending, running, completed, completed_with_warnings, "
        "failed, dead_letter, cancelled",
    )
    parser.add_argument("--parser", metavar="P", help="only this parser's jobs")
    parser.add_argument(
        "--dead-letter", action="store_true", help="list the dead letters not replayed yet"
    )
    parser.add_argument("--limit", type=int, default=100, metavar="N", help="at most N (100)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run_list)
    actions = parser.add_subparsers(dest="jobs_action", metavar="ACTION")

    show = actions.add_parser("show", help="one job: status, attempts, error, trace, outputs")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=run_show)
    for name, help_text, handler in (
        ("retry", "queue a failed, dead-lettered or cancelled job again", run_retry),
        ("cancel", "cancel a queued or running job", run_cancel),
        ("replay", "queue a dead-lettered job again (its dead letter is kept)", run_replay),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("id")
        action.set_defaults(handler=handler)


def _status(text: str) -> JobStatus:
    try:
        return STATUS_WORDS[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a job status: use one of {', '.join(STATUS_WORDS)}"
        ) from None


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    if args.dead_letter:
        letters = with_service(settings, lambda s: s.queue.dead_letters(args.parser))
        _print_dead_letters(letters, as_json=args.json)
        return 0
    query = JobQuery(status=args.status, parser_name=args.parser, limit=args.limit)
    jobs = with_service(settings, lambda s: s.queue.jobs(query))
    if args.json:
        print(json.dumps({"jobs": [job.as_json() for job in jobs]}, sort_keys=True))
    elif not jobs:
        print("No jobs match." if args.status or args.parser else "No jobs yet.")
    else:
        print("\n".join(_line(job) for job in jobs))
    return 0


def _line(job: JobRecord) -> str:
    error = f"  {job.error_code}" if job.error_code else ""
    tries = "" if job.attempts <= 1 else f"  {job.attempts} attempts"
    worker = f"  on {job.ran_on}" if job.ran_on else ""
    return (
        f"{job.job_id}  {job.status:<23} {job.parser_name} {job.parser_version}  "
        f"{job.input_path}{error}{tries}{worker}"
    )


def _print_dead_letters(letters: list[DeadLetter], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"dead_letters": [e.as_json() for e in letters]}, sort_keys=True))
    elif not letters:
        print("No dead letters.")
    else:
        for letter in letters:
            print(
                f"{letter.job_id}  {letter.parser_name} {letter.parser_version}  "
                f"{letter.input_path}  {letter.reason} ({letter.moved_at})"
            )
        print("Queue one again with `casparian jobs replay ID`.")


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    detail = with_service(settings, lambda s: s.queue.job(args.id))
    print(json.dumps(detail.as_json(), sort_keys=True) if args.json else _details(detail))
    return 0


def _details(detail: JobDetail) -> str:
    job = detail.job
    lines = [
        f"job {job.job_id}: {job.status}",
        f"  parser    {job.parser_name} {job.parser_version}",
        f"  input     {job.input_path}",
        *([f"  sink      {job.sink_uri}"] if job.sink_uri else []),
        f"  attempts  {job.attempts}",
        f"  queued    {job.enqueued_at}",
    ]
    if job.status == JobStatus.QUEUED and job.attempts:
        lines.append(f"  next try  {job.next_attempt_at}")
    lines += [f"  {name:<9} {value}" for name, value in _times(job) if value]
    if job.rows_out is not None:
        lines.append(f"  rows      {job.rows_out:,} ({job.rows_quarantined or 0:,} quarantined)")
    for output, summary in detail.outputs.items():
        lines.append(f"  output    {output}: {summary}")
    if job.error_code is not None:
        lines.append(f"  error     {job.error_code}: {job.error_message}")
    if job.fingerprint is not None:
        lines.append(f"  error id  {job.fingerprint} (`casparian errors show {job.fingerprint}`)")
    for letter in detail.dead_letters:
        replayed = f", replayed {letter.replayed_at}" if letter.replayed_at else ""
        lines.append(f"  dead letter {letter.moved_at}: {letter.reason}{replayed}")
    if detail.traceback:
        trace = detail.traceback.rstrip().splitlines()[-TRACE_LINES:]
        lines += ["  trace:", *(f"    {line}" for line in trace)]
    return "\n".join(lines)


def _times(job: JobRecord) -> list[tuple[str, str | None]]:
    return [
        ("started", job.started_at),
        ("heartbeat", job.heartbeat_at if job.status == JobStatus.RUNNING else None),
        ("finished", job.finished_at),
        ("worker", job.claimed_by if job.status == JobStatus.RUNNING else None),
        ("ran on", job.ran_on),
    ]


def run_retry(args: argparse.Namespace, settings: Settings) -> int:
    with_service(settings, lambda s: s.queue.retry(args.id))
    print(f"Job {args.id} is queued again.")
    return 0


def run_cancel(args: argparse.Namespace, settings: Settings) -> int:
    with_service(settings, lambda s: s.queue.cancel(args.id))
    print(f"Job {args.id} is cancelled.")
    return 0


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    with_service(settings, lambda s: s.queue.replay(args.id))
    print(f"Job {args.id} is queued again from the dead letters.")
    return 0
