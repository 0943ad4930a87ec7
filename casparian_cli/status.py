"""`casparian status [--json]`: the headline numbers of the home."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING

from casparian_cli.homes import HomeUse
from casparian_core.api import (
    DaemonState,
    Stats,
    cluster_state,
    compact,
    daemon_state,
    plural,
)
from casparian_core.config import Settings

if TYPE_CHECKING:
    from casparian_core.api import DiscoveredParser


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("status", help="show what the home holds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run, home_use=HomeUse.VERIFY)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from casparian_core.service import CoreService

    stats, unusable = asyncio.run(_collect(settings))
    daemon = daemon_state(settings.home)
    cluster = cluster_state(settings.home)
    isolation = CoreService.guest_isolation()
    if args.json:
        document = {"home": str(settings.home), **stats.as_json()}
        document["unusable_parsers"] = [{"path": str(p.path), "error": p.error} for p in unusable]
        document["isolation"] = isolation.as_json()
        document["daemon"] = {"running": False} if daemon is None else daemon.as_json()
        document["cluster"] = {"running": False} if cluster is None else cluster.as_json()
        print(json.dumps(document, sort_keys=True))
    else:
        print(render(stats, settings, unusable))
        print(f"Guests   {isolation.description}")
        print(f"Daemon   {daemon_line(daemon)}")
        if cluster is not None:
            print(f"Cluster  {cluster.describe()}")
    return 0


async def _collect(settings: Settings) -> tuple[Stats, list[DiscoveredParser]]:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        parsers = await service.bench.list_parsers()
        unusable = [listed.parser for listed in parsers if listed.parser.error is not None]
        return await service.stats(), unusable


def render(stats: Stats, settings: Settings, unusable: list[DiscoveredParser]) -> str:
    lines = [
        f"Home     {settings.home}",
        f"Files    {stats.discover_summary()}, {stats.tags} tags, "
        f"{compact(stats.untagged_files)} untagged",
        f"Parsers  {stats.parsers_summary()}",
        *(f"         unusable: {parser.error}" for parser in unusable),
        f"Outputs  {stats.inspect_summary()}, {compact(stats.quarantined_rows or 0)} quarantined",
        f"Jobs     {stats.jobs_summary()}",
    ]
    if stats.is_empty:
        lines.append("Nothing here yet: run `casparian scan <folder>` to catalogue some files.")
    return "\n".join(lines)


def daemon_line(daemon: DaemonState | None) -> str:
    if daemon is None:
        return "not running (`casparian start` runs it)"
    return (
        f"running (pid {daemon.pid}, since {daemon.started_at or 'a moment ago'}, "
        f"{plural(daemon.workers, 'worker')}, {plural(daemon.jobs_done, 'job')} done, "
        f"{daemon.jobs_failed:,} failed)"
    )
