"""`casparian files`: list catalogued files (present ones), filtered by source and tag."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime

from casparian_core.api import UNTAGGED, FilePage, FileQuery, format_bytes
from casparian_core.config import Settings

DEFAULT_LIMIT = 100


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("files", help="list catalogued files")
    parser.add_argument("--source", metavar="S", help="only files of this source")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--tag", metavar="T", help="only files with this tag")
    which.add_argument("--untagged", action="store_true", help="only files without a tag")
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help=f"at most N ({DEFAULT_LIMIT})"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    page, total, names = asyncio.run(_collect(args, settings))
    if args.json:
        files = [{**row.as_json(), "source": names[row.source_id]} for row in page.rows]
        print(json.dumps({"total": total, "files": files}, sort_keys=True))
        return 0
    if not page.rows:
        print("No files match: `casparian scan <folder>` catalogues some.")
        return 0
    for row in page.rows:
        modified = datetime.fromtimestamp(row.mtime_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M")
        print(
            f"{names[row.source_id]}:{row.rel_path}  {row.tag or '-'}  "
            f"{format_bytes(row.size)}  {modified}  {row.kind or '?'}"
        )
    if total > len(page.rows):
        print(f"... {len(page.rows):,} of {total:,} files shown; use --limit to see more.")
    return 0


async def _collect(
    args: argparse.Namespace, settings: Settings
) -> tuple[FilePage, int, dict[int, str]]:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        source_id = (await service.scout.find_source(args.source)).id if args.source else None
        query = FileQuery(source_id=source_id, tag=UNTAGGED if args.untagged else args.tag)
        page = await service.scout.files_page(query, limit=max(args.limit, 0))
        total = await service.scout.count_files(query)
        names = {source.id: source.name for source in await service.scout.sources()}
        return page, total, names
