"""`casparian vendor <parser> <dir>`: gather every wheel a parser's uv.lock needs into DIR, on
a connected machine, so an air-gapped machine can build the parser's environment `--offline`.
The parser is its folder, or the name of a registered parser (its artifact's lock).

uv's and pip's lines go to stderr as they come; the summary (what to copy where) to stdout.
Exit 0 when every wheel was gathered, 2 when one could not be.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_cli.homes import HomeUse, open_home
from casparian_core.api import format_bytes, plural
from casparian_core.config import Settings

if TYPE_CHECKING:
    from casparian_core.api import VendorReport


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "vendor",
        help="gather the wheels a parser's uv.lock needs, for an air-gapped machine",
        description="Download every wheel the parser's uv.lock needs on this platform and "
        "Python (and pyarrow and pyzmq, which Casparian's guest needs) into DIR. Copy DIR's "
        "wheels to the air-gapped machine's wheels folder, then build there with --offline.",
    )
    parser.add_argument(
        "parser",
        help="the parser's folder (with pyproject.toml and uv.lock), or a registered parser's "
        "name (its latest version, or --version)",
    )
    parser.add_argument("dir", type=Path, help="where the wheels go (created when missing)")
    parser.add_argument(
        "--version", dest="parser_version", metavar="V", help="a registered parser's version"
    )
    parser.set_defaults(handler=run, home_use=HomeUse.NONE)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from casparian_core.service import CoreService

    if Path(args.parser).exists() and args.parser_version is None:
        report = CoreService(settings).vendor_wheels(Path(args.parser), args.dir, _progress)
    else:  # no such path: a registered parser's name, in the home
        open_home(settings, HomeUse.EXISTING)
        report = asyncio.run(_registered(args.parser, args.parser_version, args.dir, settings))
    print(
        f"{report.folder} holds {plural(len(report.wheels), 'wheel')} "
        f"({format_bytes(report.total_bytes)}) for Python {report.python} on {report.platform}."
    )
    print(
        "On the air-gapped machine (same Python and platform): copy them into "
        "$CASPARIAN_HOME/wheels (or point CASPARIAN_WHEELS_DIR at them), then use --offline."
    )
    return 0


async def _registered(
    name: str, version: str | None, folder: Path, settings: Settings
) -> VendorReport:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        return await service.vendor_registered_wheels(name, version, folder, _progress)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
