"""`casparian ai log`: every request the assistant sent to the model, newest first — when, in
which mode, with what context, which tools the model called, the bytes each way and the tokens.
How a user proves what left the machine."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict

from casparian_core.api import AiRequest, format_bytes
from casparian_core.config import Settings

DEFAULT_LIMIT = 50


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("ai", help="the AI assistant's record")
    actions = parser.add_subparsers(dest="ai_action", metavar="ACTION", required=True)
    log = actions.add_parser(
        "log",
        help="the requests sent to the model and the MCP clients' tool calls, newest first",
        description="Every request the assistant sent to the model (face `sidebar`) and "
        "every tool call of an MCP client (face `mcp`; the model column is the client's name, "
        "the context the tool and its arguments): when, the mode and "
        "selection it carried (the size of any detail text, not the text), the tools the model "
        "called, bytes sent and received (request and response bodies), tokens, and how it "
        "ended (end_turn, tool_use, a failure kind, cancelled).",
    )
    log.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, metavar="N", help=f"at most N ({DEFAULT_LIMIT})"
    )
    log.add_argument("--json", action="store_true", help="print one JSON object")
    log.set_defaults(handler=run_log)


def run_log(args: argparse.Namespace, settings: Settings) -> int:
    requests = asyncio.run(_requests(settings, max(args.limit, 0)))
    if args.json:
        print(json.dumps({"requests": [asdict(r) for r in requests]}, sort_keys=True))
        return 0
    if not requests:
        print("No requests sent to the model from this home.")
        return 0
    for request in requests:
        print(_line(request))
    sent = sum(r.bytes_sent for r in requests)
    received = sum(r.bytes_received for r in requests)
    print(
        f"{len(requests)} requests shown: {format_bytes(sent)} sent, "
        f"{format_bytes(received)} received."
    )
    return 0


def _line(request: AiRequest) -> str:
    tools = ",".join(request.tools_called) or "-"
    tokens = f"{request.input_tokens or 0}/{request.output_tokens or 0} tokens"
    return (
        f"{request.started_at}  {request.outcome}  {request.face}  {request.model}  "
        f"[{request.context}]  "
        f"sent {format_bytes(request.bytes_sent)}  received {format_bytes(request.bytes_received)}"
        f"  {tokens}  tools: {tools}"
    )


async def _requests(settings: Settings, limit: int) -> list[AiRequest]:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        return await service.assistant.request_log(limit)
