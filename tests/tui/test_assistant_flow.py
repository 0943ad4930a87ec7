"""The sidebar against the real assistant: the official SDK talking HTTP to a local fake of the
Anthropic Messages API (tests/fake_anthropic.py), tools running against a real home."""

from collections.abc import Iterator

import pytest

from casparian_core.api import FailureKind
from casparian_core.config import Settings
from casparian_tui.app import CasparianApp
from casparian_tui.widgets.assistant_entries import (
    AnswerBlock,
    ErrorView,
    ToolCallView,
    UserMessage,
)
from tests.fake_anthropic import (
    FakeAnthropic,
    cut_reply,
    server_error,
    text_reply,
    tool_call,
    tool_reply,
)
from tests.tui.assistant_support import sidebar
from tests.tui.bench_support import bench_settings, open_bench
from tests.tui.conftest import TERMINAL, make_app, settle, until

__all__ = ["bench_settings"]  # the fixture, used by name


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", server.key)
        yield server


async def ask(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type `text` into the open chat, send it, and wait until the turn has ended."""
    app: CasparianApp = pilot.app
    await pilot.press(*text, "enter")
    await until(pilot, lambda: not app.assistant_busy and not _running(app), "the answer")
    await settle(pilot)


def _running(app: CasparianApp) -> bool:
    return any(w.is_running for w in app.workers if w.group.startswith("assistant"))


def answers(app: CasparianApp) -> list[str]:
    return [block.source for block in sidebar(app).query(AnswerBlock)]


async def test_a_question_a_tool_call_and_a_streamed_answer(
    bench_settings: Settings, fake: FakeAnthropic
) -> None:
    fake.script(
        tool_reply(tool_call("list_sources", {}), text="Let me look at the sources."),
        text_reply("There is **one** source, `data`, with 2 files.", chunk_chars=3),
    )
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)  # catalogues <home>/data
        await pilot.press("alt+a")
        await ask(pilot, "What sources are there?")

        chat = sidebar(app)
        assert [str(u.render()) for u in chat.query(UserMessage)] == ["What sources are there?"]
        [call] = chat.query(ToolCallView)
        assert call.tool_name == "list_sources" and call.summary and not call.failed
        assert answers(app) == [
            "Let me look at the sources.",
            "There is **one** source, `data`, with 2 files.",
        ]
        # The request carried the mode the user asked from.
        assert "parser_bench" in fake.requests[0].system_text() + str(fake.requests[0].body)


async def test_a_server_error_shows_inline_and_ctrl_r_retries(
    bench_settings: Settings, fake: FakeAnthropic
) -> None:
    fake.script(server_error(), text_reply("Here it is."))
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        await ask(pilot, "hello")
        [error] = sidebar(app).query(ErrorView)
        assert error.failure.kind is FailureKind.SERVER and error.retryable
        await pilot.press("alt+j")  # the rest of the app works on
        await settle(pilot)
        assert app.current_mode == "jobs"
        await pilot.press("alt+p")  # a mode first opened now: the failure is drawn there too
        await settle(pilot)
        assert sidebar(app).query_one(ErrorView).retryable

        await pilot.press("tab", "ctrl+r")
        await until(pilot, lambda: answers(app) == ["Here it is."], "the retried answer")
        assert not sidebar(app).query(ErrorView).last().retryable  # retried once, not twice


async def test_a_stream_cut_halfway_keeps_what_came_and_says_so(
    bench_settings: Settings, fake: FakeAnthropic
) -> None:
    fake.script(cut_reply(text_reply("The first part arrives, then", chunk_chars=4), 5))
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        await ask(pilot, "hello")
        [error] = sidebar(app).query(ErrorView)
        assert error.failure.kind in (FailureKind.STREAM_CUT, FailureKind.NETWORK)
        assert app.is_running
        await pilot.press(*"still typing")
        assert sidebar(app).input.text == "still typing"
