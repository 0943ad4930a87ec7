"""`casparian scan <path>`: catalogue a folder's files, with a live counter on a terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from casparian_cli.homes import HomeUse
from casparian_core.api import PatternWithoutTagError
from casparian_core.config import Settings

if TYPE_CHECKING:
    from casparian_core.api import ScanSummary
    from casparian_core.events import ScanProgress

TOP_EXTENSIONS = 8


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "scan",
        help="catalogue the files of a folder (registering it as a source)",
        description="Walk a folder, record every file in the catalogue with its size, mtime, "
        "blake3 hash and kind, apply the tagging rules, and print a summary. A rescan reads "
        "only new and changed files and marks files gone from disk as missing.",
    )
    parser.add_argument("path", help="the folder to scan")
    parser.add_argument(
        "--pattern",
        action="append",
        default=[],
        metavar="GLOB",
        help="with --tag: tag only files whose relative path matches (repeatable)",
    )
    parser.add_argument("--tag", metavar="TAG", help="tag the scanned files (manual tag)")
    parser.add_argument("--name", metavar="NAME", help="source name (default: the folder name)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--no-hash", action="store_true", help="record size and mtime only; read no file"
    )
    parser.set_defaults(handler=run, home_use=HomeUse.CREATE)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.pattern and args.tag is None:
        raise PatternWithoutTagError()
    live = None if args.json or not sys.stderr.isatty() else LiveLine(sys.stderr)
    summary = asyncio.run(_scan(args, settings, live))
    print(json.dumps(summary.as_json(), sort_keys=True) if args.json else render(summary))
    return 0


async def _scan(args: argparse.Namespace, settings: Settings, live: LiveLine | None) -> ScanSummary:
    from casparian_core.service import CoreService

    cancel = threading.Event()
    async with CoreService(settings) as service:
        scan = asyncio.ensure_future(
            service.scout.scan(
                args.path,
                name=args.name,
                patterns=args.pattern,
                tag=args.tag,
                hash_files=not args.no_hash,
                on_progress=live.show if live else None,
                cancel=cancel,
            )
        )
        try:
            return await asyncio.shield(scan)
        except asyncio.CancelledError:
            # Ctrl+C: stop the walk, let the scan commit what it found, report it, then let
            # the interrupt end the command.
            cancel.set()
            summary = await scan
            print(render(summary), file=sys.stderr)
            raise
        finally:
            if live:
                live.clear()


class LiveLine:
    """One status line on a terminal, rewritten in place as the scan goes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def show(self, progress: ScanProgress) -> None:
        line = (
            f"{progress.seen:,} files ({progress.new:,} new, {progress.changed:,} changed)"
            f"  {progress.current_dir}"
        )
        self._stream.write("\r\x1b[K" + line[:200])
        self._stream.flush()

    def clear(self) -> None:
        self._stream.write("\r\x1b[K")
        self._stream.flush()


def render(summary: ScanSummary) -> str:
    verb = "Scan cancelled" if summary.cancelled else "Scanned"
    lines = [
        f"{verb}: {summary.source} ({summary.path}) in {summary.elapsed_s:.2f} s, "
        f"{summary.seen:,} files, {summary.files_per_s:,.0f} files/s",
        f"  new {summary.new:,}, changed {summary.changed:,}, unchanged {summary.unchanged:,}, "
        f"missing {summary.missing:,}, hashed {summary.hashed:,}",
    ]
    if summary.skipped:
        lines.append("  skipped: " + _skipped_text(summary))
    if summary.by_extension:
        top = list(summary.by_extension.items())
        text = ", ".join(f"{ext} {count:,}" for ext, count in top[:TOP_EXTENSIONS])
        if len(top) > TOP_EXTENSIONS:
            text += f", {len(top) - TOP_EXTENSIONS} more"
        lines.append(f"  by extension: {text}")
    if summary.cancelled:
        lines.append("  Files not reached yet keep their previous state; scan again to finish.")
    return "\n".join(lines)


def _skipped_text(summary: ScanSummary) -> str:
    parts = []
    for reason, count in sorted(summary.skipped.items()):
        examples = summary.skipped_examples.get(reason, [])
        shown = f" (e.g. {', '.join(examples[:2])})" if examples else ""
        parts.append(f"{count:,} {reason}{shown}")
    return "; ".join(parts)
