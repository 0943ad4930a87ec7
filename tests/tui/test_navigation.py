"""Driving the real app: keys as a terminal sends them, the Esc cascade, mouse, live updates."""

import sqlite3

import pytest
from textual._xterm_parser import XTermParser  # private: the only way to test real byte input
from textual.events import Key

from casparian_core.config import Settings, load_settings
from casparian_tui.screens.help import HelpScreen
from tests.tui.conftest import TERMINAL, card_text, make_app, settle

# What xterm, tmux, GNOME Terminal and macOS (Option as Meta) send: Alt as an ESC prefix, and the
# function keys in their two common encodings.
TERMINAL_BYTES = [
    ("\x1bd", "discover"),
    ("\x1bp", "parser_bench"),
    ("\x1bi", "inspect"),
    ("\x1bj", "jobs"),
    ("\x1bh", "home"),
    ("\x1bOR", "discover"),  # F3
    ("\x1bOS", "parser_bench"),  # F4
    ("\x1b[15~", "inspect"),  # F5
    ("\x1b[17~", "jobs"),  # F6
    ("\x1bOQ", "home"),  # F2
]


def parse_terminal_bytes(data: str) -> list[Key]:
    parser = XTermParser()
    events = list(parser.feed(data)) + list(parser.feed(""))  # "" = end of input flushes ESC
    return [event for event in events if isinstance(event, Key)]


async def test_terminal_byte_sequences_reach_every_mode(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        for data, mode in TERMINAL_BYTES:
            keys = parse_terminal_bytes(data)
            assert keys, f"{data!r} produced no key"
            for key in keys:
                app.post_message(key)  # as the terminal driver does
            await settle(pilot)
            assert app.current_mode == mode, f"{data!r} -> {[k.key for k in keys]}"


def test_every_mode_binding_survives_the_escape_prefix() -> None:
    """Alt+b and Alt+f arrive as ctrl+left/right in real terminals: no mode may use them."""
    from casparian_tui.modes import MODES

    for mode in MODES:
        letter = mode.alt_key.removeprefix("alt+")
        [key] = parse_terminal_bytes("\x1b" + letter)
        assert key.key == mode.alt_key


async def test_escape_cascade_overlay_then_mode_then_home(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+j", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert app.current_mode == "jobs"
        await pilot.press("escape")
        assert app.current_mode == "home"
        await pilot.press("escape")  # nothing left to back out of: Home stays
        assert app.current_mode == "home"
        assert app.is_running


async def test_help_lists_the_active_keys(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        lines = {(k.keys, k.description) for k in app.screen.keys}
        assert ("Alt+d / F3", "Discover") in lines
        assert ("q", "Quit") in lines
        assert ("Enter", "Open mode") in lines
        assert not any("Scroll" in description for _, description in lines)
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)


async def test_f1_opens_and_closes_help(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+d", "f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert not isinstance(app.screen, HelpScreen)
        assert app.current_mode == "discover"


async def test_digits_open_the_home_cards(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        for digit, mode in (("1", "discover"), ("2", "parser_bench"), ("3", "inspect")):
            await pilot.press(digit)
            await settle(pilot)
            assert app.current_mode == mode
            await pilot.press("alt+h")
        await pilot.press("4")
        assert app.current_mode == "jobs"


async def test_arrows_and_enter_open_the_chosen_card(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("right", "down")
        assert app.focused is not None and app.focused.id == "card-jobs"
        await pilot.press("left")
        assert app.focused.id == "card-inspect"
        await pilot.press("enter")
        assert app.current_mode == "inspect"


async def test_clicking_a_card_opens_its_mode(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.click("#card-parser_bench")
        await settle(pilot)
        assert app.current_mode == "parser_bench"


async def test_modes_keep_their_state(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("down")
        home_screen = app.screen
        await pilot.press("alt+d", "alt+h")
        assert app.screen is home_screen
        assert app.focused is not None and app.focused.id == "card-inspect"


async def test_q_quits_only_from_home(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+d", "q")
        assert app.is_running
        await pilot.press("alt+h", "q")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_c_quits_from_any_mode(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+i", "ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_palette_offers_every_mode(settings: Settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in ("Go to Discover", "Go to Parser Bench", "Go to Inspect", "Go to Jobs"):
            assert title in commands
        await commands["Go to Jobs"].callback()
        assert app.current_mode == "jobs"


async def test_home_cards_follow_changes_made_by_other_processes(settings: Settings) -> None:
    fast = load_settings(env={"CASPARIAN_CHANGE_POLL_SECS": "0.05"}, home=settings.home)
    app = make_app(fast)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        assert "0 files, 0 sources" in card_text(app, "discover")
        assert app.screen.query_one("#first-run-hint").display
        conn = sqlite3.connect(fast.database_path)
        conn.execute("INSERT INTO scout_sources (name, path, created_at) VALUES ('s', '/s', 't')")
        conn.commit()
        conn.close()
        for _ in range(100):
            await pilot.pause(0.05)
            await settle(pilot)
            if "1 source" in card_text(app, "discover"):
                break
        assert "0 files, 1 source" in card_text(app, "discover")
        assert not app.screen.query_one("#first-run-hint").display  # no longer a first run


@pytest.mark.parametrize("size", [(40, 12), (20, 6)])
async def test_tiny_terminals_stay_usable(settings: Settings, size: tuple[int, int]) -> None:
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert app.screen.has_class("narrow")
        await pilot.press("down", "enter")
        assert app.current_mode == "parser_bench"
