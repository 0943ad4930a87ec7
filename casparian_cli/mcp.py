"""`casparian mcp`: serve the assistant's tools to an MCP client (Claude Code, Claude Desktop,
another agent) over stdio. The MCP SDK loads only here, so other commands start without it."""

from __future__ import annotations

import argparse
import asyncio

from casparian_cli.homes import HomeUse
from casparian_core.api import ActionKind
from casparian_core.config import Settings


def register(subcommands: argparse._SubParsersAction) -> None:
    kinds = [kind.value for kind in ActionKind]
    parser = subcommands.add_parser(
        "mcp",
        help="serve the tools to an MCP client over stdio",
        description="Serve Casparian's tools (the assistant's: catalogue, parsers, outputs and "
        "the pipeline tools quick_scan, apply_scope, discover_schemas, approve_schemas, "
        "run_backtest, execute_pipeline, query_output) to an MCP client over stdin/stdout. "
        "A tool that would change something proposes a pending action instead; a human "
        "decides it in the TUI or with `casparian approvals`. Every call is recorded "
        "(`casparian ai log`).",
    )
    parser.add_argument(
        "--allow",
        nargs="+",
        default=[],
        choices=kinds,
        metavar="KIND",
        help="action kinds to apply without approval (off by default; each such call is "
        f"recorded as auto-approved): {', '.join(kinds)}",
    )
    parser.set_defaults(handler=run, home_use=HomeUse.EXISTING)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from casparian_mcp.server import serve

    asyncio.run(serve(settings, frozenset(ActionKind(kind) for kind in args.allow)))
    return 0
