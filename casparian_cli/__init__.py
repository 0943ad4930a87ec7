"""The `casparian` command. Each subcommand lives in its own module with a `register` function
and says, with `set_defaults(home_use=...)`, what it needs of the home (homes.HomeUse).

A command's module is imported only when that command runs: the others' imports (the daemon's,
the assistant's, the job pool's) would otherwise delay every command. `--help`, no command or
an unknown one load them all, so the listing and argparse's errors name every command."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from casparian_cli.homes import HomeUse, open_home
from casparian_core import __version__
from casparian_core.config import load_settings
from casparian_core.errors import CasparianError

if TYPE_CHECKING:
    from types import ModuleType

# Each command -> the module of casparian_cli that registers it; `--help` lists them in this order.
COMMANDS = {
    "status": "status",
    "tui": "tui",
    "run": "run",
    "process": "process",
    "backfill": "backfill",
    "start": "daemon",
    "stop": "daemon",
    "scan": "scan",
    "rule": "rule",
    "tag": "tag",
    "untag": "tag",
    "files": "files",
    "source": "source",
    "vendor": "vendor",
    "parser": "parser",
    "ai": "ai",
    "jobs": "jobs",
    "errors": "errors_cmd",
    "tables": "tables",
    "query": "query",
    "quarantine": "quarantine",
    "mcp": "mcp",
    "approvals": "approvals",
}
# What a shell reports for a process that wrote to a closed pipe (128 + SIGPIPE).
CLOSED_PIPE_EXIT = 141


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of `argv`'s command alone when it names one, else of every command."""
    parser = _top_parser()
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _modules_for(argv):
        module.register(subcommands)
    return parser


def _top_parser(*, add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casparian",
        description="Casparian Flow: turn folders of messy files into validated tables.",
        add_help=add_help,
    )
    parser.add_argument("--version", action="version", version=f"casparian {__version__}")
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="where Casparian keeps its data (default: $CASPARIAN_HOME or ~/.casparian_flow)",
    )
    return parser


def _modules_for(argv: Sequence[str] | None) -> list[ModuleType]:
    """The module of the command `argv` names (found as argparse finds it, past `--home DIR`),
    or every command's module."""
    names = dict.fromkeys(COMMANDS.values())
    command = _command_named(argv)
    if command in COMMANDS:
        names = {COMMANDS[command]: None}
    return [importlib.import_module(f"casparian_cli.{name}") for name in names]


def _command_named(argv: Sequence[str] | None) -> str | None:
    """The command word, unless an option before it is not a global one (`-h query` asks for
    the whole help) or the global options are wrong (the full parser then says so)."""
    probe = _top_parser(add_help=False)
    probe.add_argument("command", nargs="?")
    probe.add_argument("rest", nargs=argparse.REMAINDER)
    probe.error = _give_up  # type: ignore[method-assign]
    try:
        found, unknown = probe.parse_known_args(argv)
    except _ProbeFailed:
        return None
    return None if unknown else found.command


class _ProbeFailed(Exception):
    pass


def _give_up(message: str) -> NoReturn:
    raise _ProbeFailed(message)


def main(argv: Sequence[str] | None = None) -> int:
    # Before numpy loads (pyarrow imports it): OpenBLAS otherwise starts a thread per core that
    # spins on start-up in this process and in each worker process (which inherit it), using
    # CPU our work never asks of it (it does no linear algebra). A user's own value wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if argv is None and getattr(args, "runs_jobs", False):
        # The program itself; a caller passing argv may share its process (unused_libraries.py).
        from casparian_core.api import hide_unused_libraries

        hide_unused_libraries()
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
