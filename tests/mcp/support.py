"""A real `casparian mcp` process on a temporary home, driven by the official MCP client over
stdio; the home has a source of event logs tagged for a parser that quarantines negative
amounts and fails on a malformed one."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psutil
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

from casparian_core.config import Settings
from casparian_core.scout.queries import FileQuery
from casparian_core.service import CoreService
from tests.registry.support import pyproject, uv_lock

PARSER = """\
class Events:
    name = "events"
    version = "1.0.0"
    topics = ["app_events"]
    outputs = {
        "events": {
            "ts": {"type": "string", "nullable": False},
            "amount": {"type": "int64", "min": 0},
        }
    }

    def parse(self, ctx):
        rows = [line.split(",") for line in open(ctx.path, encoding="utf-8") if line.strip()]
        yield "events", [{"ts": ts, "amount": int(amount)} for ts, amount in rows]
"""
EVENTS = {
    "jan.log": "2026-01-01,5\n2026-01-02,7\n",
    "feb.log": "2026-02-01,-3\n2026-02-02,4\n",  # one row quarantined (amount < 0)
    "mar.log": "2026-03-01,oops\n",  # the parser fails: int('oops')
    "apr.log": "2026-04-01,1\n",
}
TIMEOUT_SECS = 60.0


async def prepare_home(settings: Settings, data: Path) -> None:
    """The parser (with the pyproject and lock a registration needs) in the home's parsers/,
    the event logs as source "events", tagged with the parser's topic."""
    data.mkdir(parents=True, exist_ok=True)
    for name, text in EVENTS.items():
        (data / name).write_text(text)
    async with CoreService(settings) as service:
        (settings.parsers_dir / "events.py").write_text(PARSER)
        (settings.parsers_dir / "pyproject.toml").write_text(pyproject())
        (settings.parsers_dir / "uv.lock").write_text(uv_lock())
        source = await service.scout.scan(data, name="events")
        await service.scout.tag_files(FileQuery(source_id=source.source_id), "app_events")


def server_parameters(home: Path, *options: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "casparian_cli", "mcp", *options],
        env={"CASPARIAN_HOME": str(home)},
    )


@asynccontextmanager
async def mcp_session(home: Path, *options: str) -> AsyncIterator[ClientSession]:
    async with (
        stdio_client(server_parameters(home, *options)) as (read, write),
        ClientSession(read, write, read_timeout_seconds=TIMEOUT_SECS) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, name: str, **arguments: Any) -> CallToolResult:
    return await session.call_tool(name, arguments)


def result_of(answer: CallToolResult) -> Any:
    """The tool's answer as JSON, asserting it is no error."""
    assert not answer.is_error, answer.content
    assert answer.structured_content is not None
    return answer.structured_content["result"]


def error_text(answer: CallToolResult) -> str:
    """The text of a tool error, asserting it is one."""
    assert answer.is_error and answer.structured_content is None
    [content] = answer.content
    assert isinstance(content, TextContent)
    return content.text


def servers(names: Sequence[str] = ("casparian_cli", "mcp")) -> list[psutil.Process]:
    """This process's `casparian mcp` children."""
    return [
        child
        for child in psutil.Process().children()
        if all(name in child.cmdline() for name in names)
    ]
