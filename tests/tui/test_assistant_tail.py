"""How much of a long conversation the sidebar draws at once (widgets/assistant_tail.py), and
the rest drawn when the user asks for it."""

from dataclasses import replace

import pytest

from casparian_core.api import (
    ActionEntry,
    ActionStatus,
    NoteEntry,
    TextEntry,
    ToolCallEntry,
    TranscriptEntry,
    UserEntry,
)
from casparian_core.config import Settings
from casparian_tui.widgets.assistant import EarlierEntries
from casparian_tui.widgets.assistant_entries import ActionCard, AnswerBlock, UserMessage
from casparian_tui.widgets.assistant_tail import tail, text_tail
from tests.tui.assistant_support import PATCH_ACTION, TURN, sidebar
from tests.tui.conftest import TERMINAL, make_app, settle

PARAGRAPH = "word " * 39 + "end.\n\n"  # 201 characters


def long_answer(paragraphs: int) -> str:
    return PARAGRAPH * paragraphs


def test_a_short_conversation_is_drawn_whole() -> None:
    entries: list[TranscriptEntry] = [UserEntry("hi"), TextEntry(TURN, "Hello.")]
    shown = tail(entries)
    assert shown.entries == entries and not shown.cut


def test_a_long_answer_is_drawn_from_a_paragraph_within_the_budget() -> None:
    text = long_answer(40)  # 8,040 characters
    shown = tail([UserEntry("Tell me a long story"), TextEntry(TURN, text)], budget=1_000)
    assert shown.hidden == 1  # the question
    assert shown.first_text is not None
    assert text.endswith(shown.first_text)
    assert shown.first_text.startswith("word") and len(shown.first_text) <= 1_000
    assert len(shown.first_text) > 1_000 - len(PARAGRAPH)  # as much as fits


def test_older_entries_are_left_out_whole() -> None:
    entries: list[TranscriptEntry] = []
    for n in range(10):
        entries += [UserEntry(f"question {n}"), TextEntry(TURN, long_answer(2))]
    shown = tail(entries, budget=1_000)
    assert shown.first_text is None
    assert shown.entries == entries[shown.hidden :]
    assert shown.hidden == 18  # the last question and answer: 200 + 402 characters


def test_an_answer_is_never_cut_inside_a_code_block_or_a_list_items_continuation() -> None:
    code = "```python\n" + "x = 1\n\n" * 40 + "```\n"
    text = "Intro.\n\n" + code + "\n- item\n\n  continued\n\nLast words.\n"
    cut = text_tail(text, budget=len(code) + 30)
    assert cut is not None
    assert cut.startswith(("```", "- item", "Last")), cut[:20]
    assert text_tail(text, budget=20) == "Last words.\n"  # at least the last block
    assert text_tail("one paragraph only", budget=5) is None  # nowhere to cut


def test_a_pending_action_and_a_running_tool_are_always_drawn() -> None:
    card = ActionEntry(PATCH_ACTION)
    running = ToolCallEntry(TURN, "call-1", "list_sources", {})
    later = [TextEntry(TURN, long_answer(20))]
    for must in (card, running):
        entries: list[TranscriptEntry] = [UserEntry("q"), must, NoteEntry("n"), *later]
        shown = tail(entries, budget=1_000)
        assert shown.entries[0] == must and shown.hidden == 1
    decided = ActionEntry(replace(PATCH_ACTION, status=ActionStatus.APPROVED))
    shown = tail([UserEntry("q"), decided, NoteEntry("n"), *later], budget=1_000)
    assert decided not in shown.entries


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-used")


async def test_a_long_conversation_opens_at_its_tail_and_pageup_at_the_top_draws_the_rest(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(settings)
    entries: list[TranscriptEntry] = []
    for n in range(6):
        entries += [UserEntry(f"question {n}"), TextEntry(TURN, long_answer(10))]
    async with app.run_test(size=TERMINAL) as pilot:
        monkeypatch.setattr(app.service.assistant, "transcript", lambda: list(entries))
        await settle(pilot)
        await pilot.press("alt+a")
        await settle(pilot)
        chat = sidebar(app)
        earlier = chat.query_one(EarlierEntries)
        assert "earlier entries" in str(earlier.render())
        assert len(chat.query(UserMessage)) < 6
        assert chat.query(AnswerBlock).last().source == entries[-1].text  # type: ignore[union-attr]
        await pilot.press("pageup")  # scrolls up first
        for _ in range(20):
            if not chat.query(EarlierEntries):
                break
            await pilot.press("pageup")
            await settle(pilot)
        assert not chat.query(EarlierEntries)
        assert [str(m.render()) for m in chat.query(UserMessage)] == [
            f"question {n}" for n in range(6)
        ]
        assert chat.chat_log.scroll_y > 0  # where the user was, not at the very top
        assert not chat.query(ActionCard)
