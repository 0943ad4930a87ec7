"""The sidebar against the real assistant: the official SDK talking HTTP to a local fake of the
Anthropic Messages API (tests/fake_anthropic.py), tools running against a real home."""

import textwrap
from collections.abc import Iterator

import pytest

from casparian_core.api import ActionStatus, FailureKind
from casparian_core.config import Settings
from casparian_tui.app import CasparianApp
from casparian_tui.widgets.assistant_entries import (
    ActionCard,
    AnswerBlock,
    ErrorView,
    ToolCallView,
    UserMessage,
)
from casparian_tui.widgets.assistant_input import ChatInput
from tests.fake_anthropic import (
    FakeAnthropic,
    cut_reply,
    server_error,
    text_reply,
    tool_call,
    tool_reply,
)
from tests.tui.assistant_support import sidebar
from tests.tui.bench_support import (
    KEY_ERROR_PARSER,
    bench_settings,
    open_bench,
    result_text,
    run_test_on,
    write_parser,
)
from tests.tui.conftest import TERMINAL, make_app, settle, until
from tests.tui.test_parser_bench import recorded_tests

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


async def test_ctrl_r_after_a_cut_stream_goes_on_and_shows_one_answer(
    bench_settings: Settings, fake: FakeAnthropic
) -> None:
    fake.script(
        tool_reply(tool_call("list_sources", {}), text="Let me look."),
        cut_reply(text_reply("There is one source, and", chunk_chars=4), 5),
        text_reply("There is one source, `data`."),
    )
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_bench(pilot)
        await pilot.press("alt+a")
        await ask(pilot, "What sources are there?")
        assert answers(app) == ["Let me look.", "There is one"]  # 3 fragments, then the cut

        await pilot.press("ctrl+r")  # the chat has the focus
        done = ["Let me look.", "There is one source, `data`."]
        await until(pilot, lambda: answers(app) == done, "the answer, once")
        await settle(pilot)

        chat = sidebar(app)
        assert [str(u.render()) for u in chat.query(UserMessage)] == ["What sources are there?"]
        assert len(chat.query(ToolCallView)) == 1 and len(fake.requests) == 3  # not re-run
        assert not chat.query_one(ErrorView).retryable


FIXED_PARSER = textwrap.dedent(KEY_ERROR_PARSER).replace('row["amt"]', 'row["amount"]')


def script_a_patch(fake: FakeAnthropic) -> None:
    """The model proposes the fix, says so; after an approval it hears the re-test and replies."""
    fake.script(
        tool_reply(
            tool_call("patch_parser", {"parser": "orders", "new_source": FIXED_PARSER}),
            text="The parser reads `amt`, but the column is `amount`.",
        ),
        text_reply("Approve the patch and I will look at the new result."),
        text_reply("The test passes now."),
    )


async def ask_why_it_failed(pilot) -> ActionCard:  # type: ignore[no-untyped-def]
    """A failing test, `a`, Enter: the model's patch arrives as a card with the focus."""
    app: CasparianApp = pilot.app
    await open_bench(pilot)
    await run_test_on(pilot, "clean")
    assert "FAILED" in result_text(app)
    await pilot.press("a", "enter")
    await settle(pilot)  # the worker that sends waits for the turn's end
    card = sidebar(app).query_one(ActionCard)
    assert app.focused is card
    assert '-    return [{"order": row["order_id"], "amount": row["amt"]}' in card.action.effect
    return card


async def test_a_failing_test_fixed_by_an_approved_patch(
    bench_settings: Settings, fake: FakeAnthropic
) -> None:
    parser = write_parser(bench_settings, "orders", KEY_ERROR_PARSER)
    script_a_patch(fake)
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        card = await ask_why_it_failed(pilot)
        # What the model was told: the failure the user was looking at.
        assert "KeyError: 'amt'" in fake.requests[0].system_text()

        await pilot.press("y")
        await until(pilot, lambda: card.action.status is ActionStatus.APPROVED, "the decision")
        await app.service.assistant.wait_idle()
        await settle(pilot)

        assert parser.read_text() == FIXED_PARSER
        [backup] = (bench_settings.parsers_dir / ".backup").glob("orders.*.py")
        assert backup.read_text() == textwrap.dedent(KEY_ERROR_PARSER)
        assert "Patched" in (card.action.outcome or "")
        assert "COMPLETED" in (card.action.outcome or "")
        shown = result_text(app)  # Parser Bench shows the re-test the core ran
        assert "Re-tested after the approved patch" in shown and "COMPLETED" in shown
        assert answers(app)[-1] == "The test passes now."
        assert "approved" in str(fake.requests[2].body["messages"][-1])
        assert recorded_tests(bench_settings)[-1] == ("orders", "COMPLETED")


async def test_a_rejected_patch_changes_nothing(
    bench_settings: Settings, fake: FakeAnthropic
) -> None:
    parser = write_parser(bench_settings, "orders", KEY_ERROR_PARSER)
    script_a_patch(fake)
    app = make_app(bench_settings)
    async with app.run_test(size=TERMINAL) as pilot:
        card = await ask_why_it_failed(pilot)
        tests_before = recorded_tests(bench_settings)
        await pilot.press("n")
        await until(pilot, lambda: card.action.status is ActionStatus.REJECTED, "the decision")
        await settle(pilot)

        assert parser.read_text() == textwrap.dedent(KEY_ERROR_PARSER)
        assert not (bench_settings.parsers_dir / ".backup").exists()
        assert recorded_tests(bench_settings) == tests_before  # nothing re-ran
        assert "FAILED" in result_text(app)
        assert isinstance(app.focused, ChatInput)  # decided: back to typing
        assert len(fake.requests) == 2  # the model hears of it with the next message only
