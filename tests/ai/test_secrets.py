"""The API key never reaches a parser's guest and is never written under the home."""

from __future__ import annotations

import json
from pathlib import Path

from casparian_core.api import AssistantContext
from casparian_core.bridge.host import guest_environment
from casparian_core.service import CoreService
from tests.ai.conftest import file_id
from tests.fake_anthropic import FakeAnthropic, text_reply, tool_call, tool_reply

SNOOP = """\
import os


def parse(path):
    key = os.environ.get("ANTHROPIC_API_KEY", "")
    return [{"has_key": bool(key), "names": ",".join(sorted(os.environ))}]
"""


def test_the_guest_environment_leaves_the_key_out() -> None:
    host = {"ANTHROPIC_API_KEY": "sk-ant-secret", "ANTHROPIC_BASE_URL": "http://x", "PATH": "/bin"}
    guest = guest_environment(host)
    assert "ANTHROPIC_API_KEY" not in guest and "ANTHROPIC_BASE_URL" not in guest
    assert "sk-ant-secret" not in json.dumps(guest)


async def test_after_a_session_the_key_is_in_no_guest_and_no_file_under_the_home(
    ai_service: CoreService, fake: FakeAnthropic, shop: Path
) -> None:
    (ai_service.settings.parsers_dir / "snoop.py").write_text(SNOOP)
    jan = await file_id(ai_service, "orders_jan.csv")
    fake.script(
        tool_reply(tool_call("run_parser_test", {"parser": "snoop", "file_id": jan})),
        tool_reply(tool_call("patch_parser", {"parser": "snoop", "new_source": SNOOP + "\n"})),
        text_reply("Done."),
    )
    await ai_service.assistant.send("Test snoop", AssistantContext(mode="parser_bench"))
    [action] = await ai_service.assistant.pending_actions()
    fake.script(text_reply("Re-tested."))
    await ai_service.assistant.decide(action.id, approve=True)
    await ai_service.assistant.wait_idle()

    seen = (await ai_service.inspect.query("SELECT has_key, names FROM snoop")).table.to_pylist()
    assert seen and all(row["has_key"] is False for row in seen)
    assert all("ANTHROPIC" not in row["names"] for row in seen)
    key = fake.key.encode()
    written = [p for p in ai_service.settings.home.rglob("*") if p.is_file()]
    assert (
        any(p.suffix == ".parquet" for p in written)
        and ai_service.settings.database_path in written
    )
    assert [p for p in written if key in p.read_bytes()] == []
