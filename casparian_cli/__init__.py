"""The `casparian` command. Each subcommand lives in its own module with a `register` function
and says, with `set_defaults(home_use=...)`, what it needs of the home (homes.HomeUse)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from casparian_cli import (
    ai,
    approvals,
    backfill,
    daemon,
    errors_cmd,
    files,
    jobs,
    mcp,
    parser,
    process,
    quarantine,
    query,
    rule,
    run,
    scan,
    source,
    status,
    tables,
    tag,
    tui,
    vendor,
)
from casparian_cli.homes import HomeUse, open_home
from casparian_core import __version__
from casparian_core.config import load_settings
from casparian_core.errors import CasparianError

COMMANDS = (
    status,
    tui,
    run,
    process,
    backfill,
    daemon,
    scan,
    rule,
    tag,
    files,
    source,
    vendor,
    parser,
    ai,
    jobs,
    errors_cmd,
    tables,
    query,
    quarantine,
    mcp,
    approvals,
)
# What a shell reports for a process that wrote to a closed pipe (128 + SIGPIPE).
CLOSED_PIPE_EXIT = 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casparian",
        description="Casparian Flow: turn folders of messy files into validated tables.",
    )
    parser.add_argument("--version", action="version", version=f"casparian {__version__}")
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="where Casparian keeps its data (default: $CASPARIAN_HOME or ~/.casparian_flow)",
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        settings = load_settings(home=args.home)
        open_home(settings, HomeUse(getattr(args, "home_use", HomeUse.EXISTING)))
        code = args.handler(args, settings)
        sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        return code
    except CasparianError as exc:
        print(f"casparian: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("casparian: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()


def _closed_pipe() -> int:
    """The reader went away (`casparian ... | head`): stop quietly. Output still buffered
    would fail again when Python flushes it at exit, so stdout now goes nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return CLOSED_PIPE_EXIT


if __name__ == "__main__":
    sys.exit(main())
