"""`casparian status [--json]`: the headline numbers of the home."""

from __future__ import annotations

import argparse
import asyncio
import json

from casparian_cli.homes import HomeUse
from casparian_core.config import Settings
from casparian_core.stats import Stats, compact


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("status", help="show what the home holds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run, home_use=HomeUse.VERIFY)


def run(args: argparse.Namespace, settings: Settings) -> int:
    stats = asyncio.run(_collect(settings))
    if args.json:
        print(json.dumps({"home": str(settings.home), **stats.as_json()}, sort_keys=True))
    else:
        print(render(stats, settings))
    return 0


async def _collect(settings: Settings) -> Stats:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        return await service.stats()


def render(stats: Stats, settings: Settings) -> str:
    lines = [
        f"Home     {settings.home}",
        f"Files    {stats.discover_summary()}, {stats.tags} tags, "
        f"{compact(stats.untagged_files)} untagged",
        f"Parsers  {stats.parsers_summary()}",
        f"Outputs  {stats.inspect_summary()}, {compact(stats.quarantined_rows or 0)} quarantined",
        f"Jobs     {stats.jobs_summary()}",
    ]
    if stats.is_empty:
        lines.append("Nothing here yet: run `casparian scan <folder>` to catalogue some files.")
    return "\n".join(lines)
