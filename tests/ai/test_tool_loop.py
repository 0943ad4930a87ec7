"""A question, a tool call against real data in a temporary home, a streamed answer; and the
record of each request (what left the machine)."""

from __future__ import annotations

import json
from pathlib import Path

from casparian_core.api import AssistantContext, TextEntry, ToolCallEntry, UserEntry
from casparian_core.events import AssistantText, AssistantToolCall, AssistantToolResult, Event
from casparian_core.service import CoreService
from tests.fake_anthropic import FakeAnthropic, text_reply, tool_call, tool_reply

CONTEXT = AssistantContext(
    mode="discover", selection={"source": "shop"}, detail="3 files, 2 of them CSV"
)


async def test_the_model_lists_files_and_answers_from_the_result(
    ai_service: CoreService, fake: FakeAnthropic, shop: Path, published: list[Event]
) -> None:
    call = tool_call("list_files", {"source": "shop", "glob": "*.csv"}, "toolu_list")
    fake.script(
        tool_reply(call, text="Let me look at the files."),
        text_reply("There are two order exports, for January and February."),
    )

    await ai_service.assistant.send("What is in this source?", CONTEXT)

    first, second = fake.requests
    assert '"mode": "discover"' in first.system_text() and "2 of them CSV" in first.system_text()
    assert {t["name"] for t in first.body["tools"]} >= {
        "list_files",
        "patch_parser",
        "query_output",
    }
    [result] = second.tool_results()
    assert result["tool_use_id"] == "toolu_list" and result["is_error"] is False
    listed = json.loads(result["content"])
    paths = sorted(row[listed["columns"].index("path")] for row in listed["files"])
    assert paths == ["orders_feb.csv", "orders_jan.csv"]
    assert listed["matching"] == "2"

    turn = published[0].turn_id  # type: ignore[attr-defined]
    assert AssistantToolCall(turn, "toolu_list", "list_files", call.input) in published
    assert AssistantToolResult(turn, "toolu_list", "2 of 2 files", False) in published
    blocks = {e.block for e in published if isinstance(e, AssistantText)}
    assert blocks == {0, 1}  # a new text block after the tool call
    assert ai_service.assistant.transcript() == [
        UserEntry("What is in this source?"),
        TextEntry(turn, "Let me look at the files."),
        ToolCallEntry(turn, "toolu_list", "list_files", call.input, "2 of 2 files", False),
        TextEntry(turn, "There are two order exports, for January and February."),
    ]


async def test_every_request_is_logged_with_the_bytes_that_left(
    ai_service: CoreService, fake: FakeAnthropic, shop: Path
) -> None:
    fake.script(tool_reply(tool_call("list_sources", {})), text_reply("One source: shop."))

    await ai_service.assistant.send("Which sources?", CONTEXT)

    answered, called = await ai_service.assistant.request_log(limit=10)  # newest first
    raw = fake.raw_bodies
    assert (called.outcome, called.tools_called, called.bytes_sent) == (
        "tool_use",
        ("list_sources",),
        len(raw[0]),
    )
    assert (answered.outcome, answered.tools_called, answered.bytes_sent) == (
        "end_turn",
        (),
        len(raw[1]),
    )
    assert answered.input_tokens == len(raw[1]) // 4  # what the fake server reported
    assert called.bytes_received > 0 and answered.bytes_received > 0
    assert called.mode == "discover"
    assert called.context == "discover source=shop detail=22B"  # the detail's size, not its text
