"""`casparian quarantine list|show|replay`: the rows that broke a contract, with the column, the
rule and the reason, read from each output's quarantine companion through `service.inspect`;
and replay, which runs their files again with the parser's current registered version
(`service.replay`), marking the rows that now pass resolved in the audit trail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, TextIO

from casparian_cli.interrupts import two_step_stop
from casparian_cli.service_call import with_service
from casparian_core.api import QuarantineState, plural
from casparian_core.config import Settings

if TYPE_CHECKING:  # the CLI starts without pyarrow: the command loads what it needs
    from casparian_core.api import (
        QuarantineEntry,
        QuarantinePage,
        QuarantineRow,
        ReplayOutcome,
        ReplayPlan,
    )
    from casparian_core.service import CoreService

DEFAULT_LIMIT = 100
INTERRUPTED = 130
DECLINED = 1


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "quarantine", help="rows that broke a contract: why, where from, as the parser made them"
    )
    actions = parser.add_subparsers(dest="quarantine_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="quarantined rows, newest jobs first")
    listing.add_argument("--job", metavar="ID", help="only the rows of this job")
    listing.add_argument("--parser", metavar="NAME", help="only the rows this parser produced")
    listing.add_argument("--output", metavar="NAME", help="only this output (e.g. sales)")
    listing.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help=f"default {DEFAULT_LIMIT}"
    )
    states = listing.add_mutually_exclusive_group()
    states.add_argument(
        "--resolved",
        dest="state",
        action="store_const",
        const=QuarantineState.RESOLVED,
        help="the rows a replay resolved (who, when, which version), not the open ones",
    )
    states.add_argument(
        "--all",
        dest="state",
        action="store_const",
        const=QuarantineState.ALL,
        help="open and resolved rows",
    )
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=run_list, state=QuarantineState.OPEN)
    show = actions.add_parser("show", help="one quarantined row, every value as produced")
    show.add_argument("id", help="an id as `quarantine list` prints it")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=run_show)
    replay = actions.add_parser(
        "replay",
        help="run the files of quarantined rows again with the current registered version",
        description="Find the files whose rows are quarantined (open), show what will run "
        "(the parser's current registered version and contracts), ask, then run them again "
        "through the job queue as `casparian process` does. Each file's earlier rows are "
        "replaced all or nothing; rows that now pass reach the output and are marked resolved "
        "(who, when, which version, which job: `quarantine list --resolved`); rows still bad "
        "stay quarantined. Filters combine.",
    )
    replay.add_argument("--job", metavar="ID", help="only the rows of this job")
    replay.add_argument("--parser", metavar="NAME", help="only the rows this parser produced")
    replay.add_argument("--output", metavar="NAME", help="only this output")
    replay.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    replay.add_argument(
        "--workers", type=int, metavar="N", help="workers at once (default: max_workers)"
    )
    replay.add_argument(
        "--offline", action="store_true", help="build parser environments from the wheels folder"
    )
    replay.add_argument("--json", action="store_true", help="print one JSON object")
    replay.set_defaults(handler=run_replay)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    page: QuarantinePage = with_service(
        settings,
        lambda s: s.inspect.quarantine(
            job_id=args.job,
            parser=args.parser,
            output=args.output,
            limit=max(args.limit, 1),
            state=args.state,
        ),
    )
    if args.json:
        entries = [asdict(entry) for entry in page.entries]
        print(json.dumps({"entries": entries, "total": page.total, "truncated": page.truncated}))
        return 0
    if not page.entries:
        which = "resolved " if args.state == QuarantineState.RESOLVED else "quarantined "
        filtered = args.job or args.parser or args.output
        print(f"No {which}rows" + (" match." if filtered else "."))
        return 0
    for entry in page.entries:
        print(_line(entry))
    shown = f"{plural(len(page.entries), 'row')} of {page.total:,}"
    print(f"({shown}{'; raise --limit to see more' if page.truncated else ''})")
    return 0


def _line(entry: QuarantineEntry) -> str:
    where = entry.source_file or "?"
    if entry.row_number is not None:
        where += f" row {entry.row_number}"
    column = f"{entry.column}: " if entry.column else ""
    resolved = ""
    if entry.resolved_at:
        resolved = (
            f" [resolved {entry.resolved_at} by {entry.resolved_by} with "
            f"{entry.resolved_version or '?'}, job {entry.resolved_job_id or '?'}]"
        )
    return f"{entry.id}  {entry.output}  {where}  {column}{entry.rule}: {entry.reason}{resolved}"


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    found: QuarantineRow = with_service(settings, lambda s: s.inspect.quarantine_row(args.id))
    if args.json:
        print(json.dumps({"entry": asdict(found.entry), "values": found.values}))
        return 0
    entry = found.entry
    print(_line(entry))
    print(f"  job     {entry.job_id or '?'}  parser {entry.parser or '?'}")
    if entry.resolved_at:
        print(
            f"  resolved {entry.resolved_at} by {entry.resolved_by} with "
            f"{entry.resolved_version or '?'} (replay job {entry.resolved_job_id or '?'})"
        )
    width = max((len(name) for name in found.values), default=0)
    for name, value in found.values.items():
        print(f"  {name.ljust(width)}  {value}")
    return 0


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers is not None and args.workers < 1:
        print("casparian: --workers must be at least 1", file=sys.stderr)
        return 2
    return asyncio.run(_replay(args, settings))


async def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        plan = await service.replay.plan(job_id=args.job, parser=args.parser, output=args.output)
        report = sys.stderr if args.json else sys.stdout
        _print_plan(plan, report)
        if plan.empty:
            if args.json:
                print(json.dumps({"plan": plan.as_json(), "outcome": None}))
            return 0
        if not args.yes and not await _confirmed(report):
            print("Nothing replayed.", file=report)
            return DECLINED
        outcome = await _run_replay(service, plan, args)
    if args.json:
        print(json.dumps({"plan": plan.as_json(), "outcome": outcome.as_json()}))
    else:
        _print_outcome(outcome)
    if outcome.interrupted:
        return INTERRUPTED
    return 1 if outcome.failed else 0


def _print_plan(plan: ReplayPlan, out: TextIO) -> None:
    for parser in plan.parsers:
        contracts = ", ".join(parser.contracts) or "no contract"
        print(f"{parser.name}@{parser.version}  contracts: {contracts}", file=out)
    for file in plan.files:
        print(
            f"  {file.path}  {plural(file.entries, 'row')} of {', '.join(file.outputs)}"
            f"  (quarantined by {file.parser}@{file.from_version}; sink {file.sink_uri})",
            file=out,
        )
    print(plan.effect, file=out)


async def _confirmed(out: TextIO) -> bool:
    print("Replay? [y/N] ", end="", flush=True, file=out)
    try:
        answer = await asyncio.to_thread(sys.stdin.readline)
    except (EOFError, OSError):
        return False
    return answer.strip().lower() in ("y", "yes")


async def _run_replay(
    service: CoreService, plan: ReplayPlan, args: argparse.Namespace
) -> ReplayOutcome:
    kept = "; their rows stay quarantined until replayed"
    with two_step_stop(service.replay.stop, jobs="running replay jobs", kept=kept):
        return await service.replay.run(plan, workers=args.workers, offline=args.offline)


def _print_outcome(outcome: ReplayOutcome) -> None:
    print(
        f"Replayed {plural(len(outcome.jobs), 'file')}: {plural(outcome.resolved, 'row')} "
        f"resolved, {outcome.still_quarantined:,} still quarantined, "
        f"{outcome.rows_added:,} rows written."
    )
    for failure in outcome.failed:
        print(
            f"  failed: {failure.path} (job {failure.job_id}) {failure.error_code or ''}: "
            f"{failure.message or ''}; its rows stay quarantined"
        )
    if outcome.interrupted:
        print("Stopped before every file ran: replay again to finish.")
