"""`casparian mcp`: the assistant's shared tools served over stdio with the official MCP SDK.

Each MCP tool is generated from the core's one tool layer (`service.tools`): its name, its
description and its input schema (the tool's pydantic parameters), so the sidebar's model and
an MCP client see one definition. The low-level `Server` is used because it takes those
schemas as they are (MCPServer would rebuild them from a Python signature). A call's answer is
the tool's text (capped, saying what was cut) and, as structured content, its summary, its
parsed result and any pending action it proposed. A tool refusing its arguments or failing is
a tool error (`is_error`) whose text says why, as MCPServer's ToolError gives it.

The service starts with the server and stops when the client goes away (stdin closed, or the
client killed): stopping it ends every parser guest the tools started.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Any

import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from casparian_core import __version__
from casparian_core.api import ActionKind, PendingAction
from casparian_core.config import Settings
from casparian_core.service import CoreService

FACE = "mcp"
UNNAMED_CLIENT = "mcp client"
INSTRUCTIONS = (
    "Casparian Flow turns folders of files into validated tables. Tools that would change "
    "something (apply_scope, approve_schemas, execute_pipeline, write_parser, patch_parser) "
    "only propose a pending action: a human approves it in the TUI or with `casparian "
    "approvals approve <id>`; follow it with action_status."
)
ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string", "enum": [kind.value for kind in ActionKind]},
        "summary": {"type": "string"},
        "effect": {"type": "string", "description": "exactly what approving it changes"},
        "status": {"type": "string"},
        "outcome": {"type": ["string", "null"]},
    },
    "required": ["id", "kind", "summary", "effect", "status"],
}
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "description": "the answer in one line"},
        "result": {"description": "the answer as JSON; absent when it was cut to fit"},
        "cut": {"type": "boolean", "description": "the text was cut to fit the size cap"},
        "pending_action": {"anyOf": [ACTION_SCHEMA, {"type": "null"}]},
    },
    "required": ["summary", "cut", "pending_action"],
}


def build_server(settings: Settings, allow: Collection[ActionKind] = ()) -> Server[CoreService]:
    @asynccontextmanager
    async def lifespan(_: Server[CoreService]) -> AsyncIterator[CoreService]:
        service = CoreService(settings)
        await service.start()
        try:
            yield service
        finally:
            await service.stop()  # closes the warm parser guests

    async def list_tools(
        ctx: ServerRequestContext[CoreService], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        specs = ctx.lifespan_context.tools.specs()
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=spec.name,
                    description=spec.description,
                    input_schema=spec.input_schema,
                    output_schema=OUTPUT_SCHEMA,
                )
                for spec in specs
            ]
        )

    async def call_tool(
        ctx: ServerRequestContext[CoreService], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        answer = await ctx.lifespan_context.tools.call(
            params.name, params.arguments or {}, face=FACE, client=_client(ctx), allow=allow
        )
        if answer.error is not None:
            text = f"Error executing tool {params.name}: {answer.error}"
            return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)
        return types.CallToolResult(
            content=[types.TextContent(text=answer.text)],
            structured_content=_structured(answer.text, answer.summary, answer.action),
        )

    return Server(
        "casparian",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _client(ctx: ServerRequestContext[CoreService]) -> str:
    params = ctx.session.client_params
    return UNNAMED_CLIENT if params is None else params.client_info.name


def _structured(text: str, summary: str, action: PendingAction | None) -> dict[str, Any]:
    structured: dict[str, Any] = {"summary": summary, "cut": False, "pending_action": None}
    try:
        structured["result"] = json.loads(text)
    except ValueError:
        structured["cut"] = True  # a capped text is no longer valid JSON
    if action is not None:
        structured["pending_action"] = {
            "id": action.id,
            "kind": action.kind.value,
            "summary": action.summary,
            "effect": action.effect,
            "status": action.status.value,
            "outcome": action.outcome,
        }
    return structured


async def serve(settings: Settings, allow: Collection[ActionKind] = ()) -> None:
    """Serve over this process's stdin and stdout until the client goes away."""
    server = build_server(settings, allow)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
