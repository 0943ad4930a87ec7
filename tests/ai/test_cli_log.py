"""`casparian ai log`: the record of what was sent to the model, as a user reads it."""

from __future__ import annotations

import json
from pathlib import Path

from casparian_core.api import AssistantContext, prepare_home
from casparian_core.config import load_settings
from casparian_core.service import CoreService
from tests.cli.support import casparian
from tests.fake_anthropic import FakeAnthropic, server_error, text_reply, tool_call, tool_reply


async def test_the_log_lists_each_request_newest_first(
    ai_service: CoreService, fake: FakeAnthropic, shop: Path
) -> None:
    context = AssistantContext(mode="discover", selection={"source": "shop"}, detail="secret-ish")
    fake.script(
        tool_reply(tool_call("list_sources", {})), text_reply("One source."), server_error()
    )
    await ai_service.assistant.send("Which sources?", context)
    await ai_service.assistant.send("And again?", context)
    home = ai_service.settings.home

    shown = casparian("ai", "log", "--json", home=home)

    assert shown.returncode == 0, shown.stderr
    requests = json.loads(shown.stdout)["requests"]
    assert [r["outcome"] for r in requests] == ["SERVER", "end_turn", "tool_use"]
    assert requests[2]["tools_called"] == ["list_sources"]
    assert requests[2]["bytes_sent"] == len(fake.raw_bodies[0])
    assert all(r["context"] == "discover source=shop detail=10B" for r in requests)
    assert "secret-ish" not in shown.stdout  # the detail's size is logged, never its text

    text = casparian("ai", "log", "--limit", "2", home=home)
    lines = text.stdout.splitlines()
    assert len(lines) == 3 and lines[0].split()[1] == "SERVER"
    assert lines[-1].startswith("2 requests shown:")


def test_an_empty_log_says_so(home: Path) -> None:
    prepare_home(load_settings(env={}, home=home))
    shown = casparian("ai", "log", home=home)
    assert shown.returncode == 0 and "No requests sent" in shown.stdout
