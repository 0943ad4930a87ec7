"""`casparian backfill PARSER [--limit N] [--force] [--sink URI] [--json]`.

Shows what the parser's current registered version would run again: the inputs an older
version processed last (by version, with their bytes and a time estimate) and how the
contracts changed. Nothing runs without `--execute`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

from casparian_cli.homes import HomeUse
from casparian_core.config import Settings

if TYPE_CHECKING:
    from casparian_core.api import BackfillPlan


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "backfill",
        help="run again, with a parser's current version, the files older versions processed",
        description="Show the plan: the files whose last run was by an older version of the "
        "parser, their size, a time estimate and the contract changes. Nothing runs without "
        "--execute.",
    )
    parser.add_argument("parser", metavar="PARSER", help="a registered parser's name")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N files (a trial)")
    parser.add_argument(
        "--force", action="store_true", help="also the files the current version processed"
    )
    parser.add_argument(
        "--sink", metavar="URI", help="the output to backfill (default: the home's output folder)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run, home_use=HomeUse.EXISTING)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit is not None and args.limit < 1:
        print("casparian: --limit must be at least 1", file=sys.stderr)
        return 2
    plan = asyncio.run(_plan(settings, args))
    if args.json:
        print(json.dumps(plan.as_json()))
    else:
        print("\n".join(plan.lines()))
        if plan.refused is None:
            print("Nothing ran: add --execute to run this backfill.")
    return 0


async def _plan(settings: Settings, args: argparse.Namespace) -> BackfillPlan:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        return await service.backfill.plan(
            args.parser, limit=args.limit, force=args.force, sink_uri=args.sink
        )
