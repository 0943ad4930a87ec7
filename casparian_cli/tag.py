"""`casparian tag <path-or-glob> <tag>` and `casparian untag <path-or-glob>`: manual tags."""

from __future__ import annotations

import argparse
import asyncio

from casparian_core.api import FileQuery, NoMatchingFilesError
from casparian_core.config import Settings

TARGET_HELP = (
    "a file or folder path, an absolute glob, or a glob on paths relative to their source "
    "(e.g. '*.csv')"
)


def register(subcommands: argparse._SubParsersAction) -> None:
    tag = subcommands.add_parser(
        "tag", help="tag catalogued files by hand (rules never overwrite it)"
    )
    tag.add_argument("target", metavar="path-or-glob", help=TARGET_HELP)
    tag.add_argument("tag")
    tag.set_defaults(handler=run_tag)

    untag = subcommands.add_parser(
        "untag", help="remove the tag of catalogued files (rules then leave them untagged)"
    )
    untag.add_argument("target", metavar="path-or-glob", help=TARGET_HELP)
    untag.set_defaults(handler=run_untag)


def run_tag(args: argparse.Namespace, settings: Settings) -> int:
    count = asyncio.run(_apply(settings, FileQuery.for_target(args.target), args.tag))
    if count == 0:
        raise NoMatchingFilesError(args.target)
    print(f"Tagged {count:,} file{'' if count == 1 else 's'} as {args.tag}.")
    return 0


def run_untag(args: argparse.Namespace, settings: Settings) -> int:
    count = asyncio.run(_apply(settings, FileQuery.for_target(args.target), None))
    if count == 0:
        raise NoMatchingFilesError(args.target)
    print(f"Untagged {count:,} file{'' if count == 1 else 's'}.")
    return 0


async def _apply(settings: Settings, query: FileQuery, tag: str | None) -> int:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        if tag is None:
            return await service.scout.untag_files(query)
        return await service.scout.tag_files(query, tag)
