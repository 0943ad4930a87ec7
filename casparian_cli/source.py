"""`casparian source list|remove|watch`: the folders the catalogue follows."""

from __future__ import annotations

import argparse
import asyncio
import json

from casparian_core.api import SourceInfo, SourceRecord
from casparian_core.config import Settings


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("source", help="list, remove or watch sources")
    actions = parser.add_subparsers(dest="source_action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="list the sources with their file counts")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=run_list)

    remove = actions.add_parser(
        "remove", help="forget a source and its catalogue rows (files on disk are untouched)"
    )
    remove.add_argument("name")
    remove.set_defaults(handler=run_remove)

    watch = actions.add_parser(
        "watch", help="follow a source for changes while the TUI or the daemon runs"
    )
    watch.add_argument("name")
    watch.add_argument("state", choices=("on", "off"))
    watch.set_defaults(handler=run_watch)


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    sources = asyncio.run(_list(settings))
    if args.json:
        print(json.dumps({"sources": [s.as_json() for s in sources]}, sort_keys=True))
    elif not sources:
        print("No sources yet: `casparian scan <folder>` adds one.")
    else:
        for source in sources:
            watching = ", watched" if source.watch else ""
            missing = f", {source.missing:,} missing" if source.missing else ""
            scanned = source.last_scan_at or "never"
            print(
                f"{source.name}  {source.path}  {source.files:,} files{missing}{watching}"
                f"  (last scan {scanned})"
            )
    return 0


async def _list(settings: Settings) -> list[SourceInfo]:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        return await service.scout.sources()


def run_remove(args: argparse.Namespace, settings: Settings) -> int:
    removed = asyncio.run(_remove(args.name, settings))
    print(f"Removed source {removed.name} ({removed.path}); its files on disk are untouched.")
    return 0


async def _remove(name: str, settings: Settings) -> SourceRecord:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        return await service.scout.remove_source(name)


def run_watch(args: argparse.Namespace, settings: Settings) -> int:
    on = args.state == "on"
    asyncio.run(_watch(args.name, on, settings))
    if on:
        print(f"Watching {args.name}: changes are picked up while the TUI or the daemon runs.")
    else:
        print(f"No longer watching {args.name}.")
    return 0


async def _watch(name: str, on: bool, settings: Settings) -> None:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        await service.scout.set_watch(name, on)
