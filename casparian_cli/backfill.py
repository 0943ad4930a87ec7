"""`casparian backfill PARSER [--limit N] [--force] [--sink URI] [--execute] [--workers N]
[--offline] [--json]`, `backfill --resume ID`, `backfill --abandon ID`, `backfill --list`.

Without `--execute`, the plan: the files whose last run was by an older version of the parser
(by version, with bytes and a time estimate) and how the contracts changed; nothing runs. With
it, the jobs run through the queue into a staging area beside the output, then, once every
file succeeded, each output is swapped in whole. A progress bar on a terminal, then a summary
(or one JSON object). Exit 0 when the backfill is done, 1 when a file failed or jobs wait (the
output untouched), 130 on Ctrl+C (the first lets running jobs finish, the second puts them
back); `--resume` continues either.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

from casparian_cli.homes import HomeUse
from casparian_cli.interrupts import two_step_stop
from casparian_core.api import JobStatus, plural
from casparian_core.config import Settings

if TYPE_CHECKING:
    from casparian_cli.run_progress import RunProgress
    from casparian_core.api import BackfillOutcome, BackfillRecord, BackfillRun, JobReport

INTERRUPTED = 130


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "backfill",
        help="run again, with a parser's current version, the files older versions processed",
        description="Show the plan: the files whose last run was by an older version of the "
        "parser, their size, a time estimate and the contract changes. Nothing runs without "
        "--execute, which stages the new output and swaps each output table in whole once "
        "every file succeeded.",
    )
    parser.add_argument("parser", metavar="PARSER", nargs="?", help="a registered parser's name")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N files (a trial)")
    parser.add_argument(
        "--force", action="store_true", help="also the files the current version processed"
    )
    parser.add_argument(
        "--sink", metavar="URI", help="the output to backfill (default: the home's output folder)"
    )
    parser.add_argument("--execute", action="store_true", help="run it (default: plan only)")
    parser.add_argument("--resume", metavar="ID", help="continue an unfinished backfill")
    parser.add_argument(
        "--abandon", metavar="ID", help="drop an unfinished backfill: the output stays as it is"
    )
    parser.add_argument("--list", action="store_true", help="list the backfills, newest first")
    parser.add_argument(
        "--workers", type=int, metavar="N", help="workers at once (default: max_workers)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="build parser environments from the wheels folder"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run, home_use=HomeUse.EXISTING)


def run(args: argparse.Namespace, settings: Settings) -> int:
    problem = _problem(args)
    if problem:
        print(f"casparian: {problem}", file=sys.stderr)
        return 2
    return asyncio.run(_main(settings, args))


def _problem(args: argparse.Namespace) -> str | None:
    for name in ("limit", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return f"--{name} must be at least 1"
    actions = [bool(args.parser), bool(args.resume), bool(args.abandon), args.list]
    if sum(actions) != 1:
        return "name a PARSER, or give one of --resume ID, --abandon ID, --list"
    if args.execute and not args.parser:
        return "--execute runs the plan of a PARSER"
    return None


async def _main(settings: Settings, args: argparse.Namespace) -> int:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        if args.list:
            return _listed(await service.backfill.backfills(), args.json)
        progress = _Progress()
        runner = service.backfill.runner(
            workers=args.workers, offline=args.offline, on_report=progress.advance
        )
        if args.abandon:
            record = await runner.abandon(args.abandon)
            _show(
                record.as_json(),
                [f"Backfill {record.id} abandoned: the output is as it was."],
                args.json,
            )
            return 0
        if args.resume:
            record = await runner.resume(args.resume)
        else:
            plan = await service.backfill.plan(
                args.parser, limit=args.limit, force=args.force, sink_uri=args.sink
            )
            if not args.execute:
                hint = [] if plan.refused else ["Nothing ran: add --execute to run this backfill."]
                _show(plan.as_json(), plan.lines() + hint, args.json)
                return 0
            if not args.json:
                print("\n".join(plan.lines()))
            record = await runner.start(plan)
        outcome = await _drive(runner, record, progress, quiet=args.json)
    _show(outcome.as_json(), outcome.lines(), args.json)
    if outcome.interrupted and not outcome.done:
        return INTERRUPTED
    return 0 if outcome.done else 1


class _Progress:
    """The bar, advanced by each job's last report (a retry due is not done yet)."""

    def __init__(self) -> None:
        self.bar: RunProgress | None = None

    def advance(self, report: JobReport) -> None:
        if self.bar is not None and report.status != JobStatus.QUEUED:
            self.bar.advance()


async def _drive(
    runner: BackfillRun, record: BackfillRecord, progress: _Progress, *, quiet: bool
) -> BackfillOutcome:
    from casparian_cli.run_progress import RunProgress

    with two_step_stop(runner.stop):
        if quiet or not sys.stderr.isatty():
            return await runner.drive(record)
        with RunProgress(f"backfilling {plural(record.files, 'file')}", record.files) as bar:
            progress.bar = bar
            return await runner.drive(record)


def _listed(records: list[BackfillRecord], as_json: bool) -> int:
    lines = [
        f"{r.id}  {r.parser_name} {r.parser_version}  {str(r.status).lower():<9}  "
        f"{plural(r.files, 'file')}  {r.created_at}  {r.sink_uri}"
        + (f"  ({r.note})" if r.note else "")
        for r in records
    ] or ["No backfills yet."]
    _show({"backfills": [r.as_json() for r in records]}, lines, as_json)
    return 0


def _show(document: dict[str, object], lines: list[str], as_json: bool) -> None:
    print(json.dumps(document) if as_json else "\n".join(lines))
