"""`casparian quarantine list|show`: the rows that broke a contract, with the column, the rule
and the reason, read from each output's quarantine companion through `service.inspect`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from casparian_cli.jobs import with_service
from casparian_core.api import plural
from casparian_core.config import Settings

if TYPE_CHECKING:  # the CLI starts without pyarrow: the command loads what it needs
    from casparian_core.api import QuarantineEntry, QuarantinePage, QuarantineRow

DEFAULT_LIMIT = 100


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
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="one quarantined row, every value as produced")
    show.add_argument("id", help="an id as `quarantine list` prints it")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=run_show)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    page: QuarantinePage = with_service(
        settings,
        lambda s: s.inspect.quarantine(
            job_id=args.job, parser=args.parser, output=args.output, limit=max(args.limit, 1)
        ),
    )
    if args.json:
        entries = [asdict(entry) for entry in page.entries]
        print(json.dumps({"entries": entries, "total": page.total, "truncated": page.truncated}))
        return 0
    if not page.entries:
        print(
            "No quarantined rows" + (" match." if args.job or args.parser or args.output else ".")
        )
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
    resolved = f" [resolved by {entry.resolved_by}]" if entry.resolved_by else ""
    return f"{entry.id}  {entry.output}  {where}  {column}{entry.rule}: {entry.reason}{resolved}"


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    found: QuarantineRow = with_service(settings, lambda s: s.inspect.quarantine_row(args.id))
    if args.json:
        print(json.dumps({"entry": asdict(found.entry), "values": found.values}))
        return 0
    entry = found.entry
    print(_line(entry))
    print(f"  job     {entry.job_id or '?'}  parser {entry.parser or '?'}")
    width = max((len(name) for name in found.values), default=0)
    for name, value in found.values.items():
        print(f"  {name.ljust(width)}  {value}")
    return 0
