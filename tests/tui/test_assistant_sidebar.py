"""The assistant sidebar driven as a user would: keys (also as a terminal sends them), focus,
the shared conversation across modes, events from other threads. The model is not involved:
events are published as the core publishes them."""

import gc
import threading
from dataclasses import replace

import pytest

from casparian_core.api import ActionStatus, FailureKind
from casparian_core.config import Settings
from casparian_core.events import AssistantActionChanged, AssistantText, AssistantTurnStarted
from casparian_tui.screens.help import HelpScreen
from casparian_tui.widgets.assistant import AssistantSidebar, StarterPanel
from casparian_tui.widgets.assistant_entries import (
    ActionCard,
    AnswerBlock,
    ErrorView,
    UserMessage,
)
from casparian_tui.widgets.assistant_input import ChatInput
from casparian_tui.widgets.file_table import FileTable
from tests.tui.assistant_support import (
    ANSWER_SO_FAR,
    PATCH_ACTION,
    QUESTION,
    TURN,
    approval,
    publish,
    sidebar,
    streaming,
)
from tests.tui.conftest import TERMINAL, make_app, settle
from tests.tui.discover_seed import seed_discover
from tests.tui.test_navigation import parse_terminal_bytes


@pytest.fixture(autouse=True)
def _api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key, so the assistant counts as configured (nothing is sent in these tests)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-used")


async def test_alt_a_and_f7_toggle_the_sidebar_in_every_mode(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        assert not app.screen.query(AssistantSidebar)  # mounted when first opened
        await pilot.press("alt+a")
        assert sidebar(app).display
        assert isinstance(app.focused, ChatInput)
        await pilot.press("alt+d")  # open in one mode, open in all
        await settle(pilot)
        assert sidebar(app).display
        await pilot.press("f7")
        assert not sidebar(app).display
        await pilot.press("alt+h")
        assert not sidebar(app).display


async def test_a_terminals_alt_a_closes_the_chat_without_typing_an_a(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        for key in parse_terminal_bytes("\x1ba"):  # ESC a, as xterm and tmux send Alt+a
            app.post_message(key)
        await settle(pilot)
        assert sidebar(app).display and isinstance(app.focused, ChatInput)
        await pilot.press("h", "i")
        for key in parse_terminal_bytes("\x1ba"):
            app.post_message(key)
        await settle(pilot)
        assert not sidebar(app).display
        assert sidebar(app).input.text == "hi"


def test_f7_is_a_function_key_in_real_terminals() -> None:
    assert [k.key for k in parse_terminal_bytes("\x1b[18~")] == ["f7"]
    assert [k.key for k in parse_terminal_bytes("\n")] == ["ctrl+j"]  # the newline key


async def test_tab_moves_between_content_and_chat_and_esc_leaves_the_chat_first(
    settings: Settings,
) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+j", "alt+a")  # Jobs: nothing to focus in its content
        await pilot.press("alt+h")
        await settle(pilot)
        card = app.focused
        assert card is not None and card.id == "card-discover"
        await pilot.press("tab")
        assert isinstance(app.focused, ChatInput)
        await pilot.press("tab")
        assert app.focused is card
        await pilot.press("right", "tab", "escape")  # Esc: out of the chat, back to the card
        assert app.focused is not None and app.focused.id == "card-parser_bench"
        assert sidebar(app).display  # still open beside the content
        await pilot.press("alt+d", "escape")  # a new mode keeps its focus: Esc goes Home
        await settle(pilot)
        assert app.current_mode == "home"


async def test_tab_keeps_moving_through_the_screen_while_the_chat_is_closed(
    settings: Settings,
) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "card-parser_bench"


async def test_at_80_columns_the_open_chat_takes_the_whole_width(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        await pilot.pause()
        assert sidebar(app).size.width == 80
        assert not app.screen.query_one("#mode-content").display
        await pilot.press("escape")  # nothing beside it: Esc closes it
        assert not sidebar(app).display
        assert app.screen.query_one("#mode-content").display
        assert app.focused is not None and app.focused.id == "card-discover"


async def test_at_120_columns_the_chat_takes_about_a_third(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        await pilot.pause()
        assert 32 <= sidebar(app).size.width <= 40
        assert app.screen.query_one("#mode-content").display


@pytest.fixture
def catalogued(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    seed_discover(settings, request.node.name)
    return settings


async def test_the_file_list_beside_the_chat_is_drawn_only_as_fitted_to_its_width(
    catalogued: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening the chat narrows Discover's list. Its page is fitted to the new width before it
    is drawn: drawn first as it was (too wide), then fitted, every cell was drawn twice, which
    was most of what opening the chat cost there. Closing the chat fits it again."""
    app = make_app(catalogued)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+d")
        await settle(pilot)
        table = app.screen.query_one(FileTable)
        wide = table.labels
        drawn: list[tuple[int, int]] = []  # (the columns' width, the room for them) per drawing
        render_lines = table.render_lines

        def drawing(crop):  # type: ignore[no-untyped-def]
            lines = render_lines(crop)
            drawn.append((table.columns_width, table.scrollable_content_region.width))
            return lines

        monkeypatch.setattr(table, "render_lines", drawing)
        for _ in ("open", "close"):
            drawn.clear()
            await pilot.press("alt+a")
            await settle(pilot)
            assert drawn and all(columns <= room for columns, room in drawn)
            assert table.max_scroll_x == 0
        assert table.labels == wide


async def test_the_empty_chat_offers_the_modes_starters(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+p", "alt+a")
        await settle(pilot)
        panel = sidebar(app).query_one(StarterPanel)
        assert panel.starters == app.service.assistant.starter_prompts("parser_bench")
        assert "Why did this test fail?" in panel.starters


async def test_streamed_text_lands_in_one_markdown_block(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        publish(app, streaming())
        await settle(pilot)
        chat = sidebar(app)
        [user] = chat.query(UserMessage)
        assert str(user.render()) == QUESTION
        [block] = chat.query(AnswerBlock)
        assert block.source == ANSWER_SO_FAR
        assert not chat.query(StarterPanel)
        assert "Ctrl+G stops" in str(chat.query_one("#chat-status").render())


async def test_events_published_in_another_thread_are_drawn(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        events = [AssistantTurnStarted(TURN, "hello")] + [
            AssistantText(TURN, 0, f"{n} ") for n in range(50)
        ]
        worker = threading.Thread(target=publish, args=(app, events))
        worker.start()
        worker.join()
        await settle(pilot)
        [block] = sidebar(app).query(AnswerBlock)
        assert block.source == "".join(f"{n} " for n in range(50))  # in order, none lost


async def test_an_approval_card_takes_y_and_n_only_while_pending(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        publish(app, approval())
        await settle(pilot)
        card = sidebar(app).query_one(ActionCard)
        assert app.focused is card  # the chat had the focus: the card takes it
        decided: list[tuple[str, bool]] = []
        app.decide_action = lambda action_id, approve: decided.append((action_id, approve))  # type: ignore[method-assign]
        await pilot.press("n")
        await pilot.press("y")  # already being rejected: no second decision
        assert decided == [(card.action.id, False)]


async def test_enter_sends_ctrl_j_adds_a_line_up_recalls(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        chat = sidebar(app)
        sent: list[str] = []
        chat.send = sent.append  # type: ignore[method-assign]
        await pilot.press("a", "ctrl+j", "b", "shift+enter", "c")
        assert chat.input.text == "a\nb\nc" and chat.input.cursor_location == (2, 1)
        await pilot.press("enter")
        assert sent == ["a\nb\nc"]
        chat.input.remember("a\nb\nc")
        await pilot.press(*"second", "enter")
        chat.input.remember("second")
        await pilot.press("up")
        assert chat.input.text == "second"
        await pilot.press("up")
        assert chat.input.text == "a\nb\nc"
        await pilot.press("down", "down")
        assert chat.input.text == ""


async def test_the_conversation_follows_the_user_into_another_mode(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each mode has its own sidebar: one that was away redraws from the transcript, once."""
    monkeypatch.delenv("ANTHROPIC_API_KEY")  # the turn fails at once, as a real one would
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+d", "alt+a", "alt+h")
        await settle(pilot)
        home_chat = sidebar(app)
        await pilot.press("alt+d")
        await settle(pilot)
        await pilot.press(*"hello", "enter")
        await settle(pilot)
        discover_chat = sidebar(app)
        assert [str(u.render()) for u in discover_chat.query(UserMessage)] == ["hello"]
        [error] = discover_chat.query(ErrorView)
        assert error.failure.kind is FailureKind.NOT_CONFIGURED
        await pilot.press("alt+h")
        await settle(pilot)
        assert sidebar(app) is home_chat
        assert [str(u.render()) for u in home_chat.query(UserMessage)] == ["hello"]
        assert len(home_chat.query(ErrorView)) == 1
        assert home_chat.input.sent == ["hello"]


async def test_help_lists_the_assistant_keys(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a", "f1")
        assert isinstance(app.screen, HelpScreen)
        lines = {(k.keys, k.description) for k in app.screen.keys}
        assert ("Alt+a / F7", "Assistant") in lines
        assert ("Enter", "Send") in lines
        assert ("Shift+Enter / Ctrl+j", "New line") in lines
        assert ("Escape", "Leave the chat") in lines
        assert ("Pageup", "Scroll the chat") in lines
        assert ("Tab", "Next field; with the chat open: chat ⇄ screen") in lines


async def test_the_palette_opens_the_assistant(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands["Assistant: open or close"].callback()
        await pilot.pause()
        assert sidebar(app).display


async def test_an_approval_cards_diff_keeps_its_indentation_and_footer_spacing(
    settings: Settings,
) -> None:
    """What the terminal gets, cell by cell: the diff's context lines indented as in the file
    (rsvg-convert drops leading spaces when it turns a snapshot into a PNG: the app does not)."""
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        publish(app, approval())
        await settle(pilot)
        card = sidebar(app).query_one(ActionCard)
        effect, state = card.query_one(".action-effect"), card.query_one(".action-state")
        drawn = [strip.text.rstrip() for strip in effect.render_lines(effect.size.region)]
        assert "     for row in" in drawn  # the diff's " " prefix, then the file's 4 spaces
        assert "         yield {" in drawn
        state_line = state.render_lines(state.size.region)[0].text
        assert state_line.rstrip() == "y approve · n reject"


async def test_a_card_another_face_proposes_appears_without_taking_the_typists_focus(
    settings: Settings,
) -> None:
    """An action the MCP server (or another TUI) proposed arrives while the user types: a `y`
    typed next goes into the message, never approving it."""
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a", "o", "k")
        publish(app, [AssistantActionChanged(PATCH_ACTION)])  # no turn of ours running
        await settle(pilot)
        card = sidebar(app).query_one(ActionCard)
        assert card.pending and app.focused is sidebar(app).input
        await pilot.press("y")
        assert sidebar(app).input.text == "oky" and card.pending
        sidebar(app).focus_chat()  # Tab into the chat: the waiting card first
        await pilot.pause()
        assert app.focused is card


async def test_a_card_rejected_elsewhere_says_so_once(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+a")
        publish(app, [AssistantActionChanged(PATCH_ACTION)])
        rejected = replace(
            PATCH_ACTION,
            status=ActionStatus.REJECTED,
            outcome="Rejected: nothing was changed.",
            decided_by="someone",
        )
        publish(app, [AssistantActionChanged(rejected)])
        await settle(pilot)
        card = sidebar(app).query_one(ActionCard)
        assert not card.pending
        assert str(card.query_one(".action-state").render()) == "Rejected: nothing was changed"


async def test_what_lives_as_long_as_the_app_is_kept_from_the_collector_until_it_ends(
    settings: Settings,
) -> None:
    """Frozen once a mode has painted (a full collection walked it all, 100-500 ms of the
    loop), and given back when the app ends: what it froze would otherwise never be freed."""
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.pause()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
