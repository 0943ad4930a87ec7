"""Pictures of the assistant sidebar's states, at 120 and at 80 columns (where it takes the whole
width): the empty chat with its starters, an answer streaming, tool calls, an approval card, a
failure with its retry key, and no API key.

The events are published on the service's bus as the assistant publishes them, so the pictures
are the same in every run; tests/tui/test_assistant_flow.py drives the real model loop.
"""

import pytest

from casparian_core.api import TextEntry, UserEntry
from casparian_core.config import Settings
from casparian_core.events import Event
from tests.tui.assistant_support import (
    TURN,
    approval,
    failure,
    publish,
    sidebar,
    steady_cursor,
    streaming,
    tool_calls,
)
from tests.tui.bench_support import bench_settings, open_bench
from tests.tui.conftest import TERMINAL, make_app, settle, until, until_idle
from tests.tui.inspect_support import seed_inspect
from tests.tui.jobs_support import open_jobs, seed_queue

__all__ = ["bench_settings"]  # the fixture, used by name
SIZES = pytest.mark.parametrize("size", [TERMINAL, (80, 24)], ids=["120x36", "80x24"])


def _open_chat(events: list[Event]):  # type: ignore[no-untyped-def]
    """Parser Bench on the example home, the chat open, then `events`."""

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_bench(pilot)
        await pilot.press("alt+a")
        steady_cursor(pilot.app)
        publish(pilot.app, events)
        await until(pilot, lambda: sidebar(pilot.app).up_to_date, "the events drawn")
        await settle(pilot)
        await pilot.pause()  # the last layout (the tool titles, the anchored scroll)

    return run_before


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-used")


@SIZES
def test_empty_with_starters(snap_compare, bench_settings: Settings, api_key, size) -> None:
    app = make_app(bench_settings)
    assert snap_compare(app, terminal_size=size, run_before=_open_chat([]))


@SIZES
def test_streaming_mid_answer(snap_compare, bench_settings: Settings, api_key, size) -> None:
    app = make_app(bench_settings)
    assert snap_compare(app, terminal_size=size, run_before=_open_chat(streaming()))


@SIZES
def test_tool_call_entries(snap_compare, bench_settings: Settings, api_key, size) -> None:
    app = make_app(bench_settings)
    assert snap_compare(app, terminal_size=size, run_before=_open_chat(tool_calls()))


@SIZES
def test_approval_card(snap_compare, bench_settings: Settings, api_key, size) -> None:
    app = make_app(bench_settings)
    assert snap_compare(app, terminal_size=size, run_before=_open_chat(approval()))


@SIZES
def test_error_with_retry(snap_compare, bench_settings: Settings, api_key, size) -> None:
    app = make_app(bench_settings)
    assert snap_compare(app, terminal_size=size, run_before=_open_chat(failure()))


@SIZES
def test_no_api_key(snap_compare, bench_settings: Settings, size) -> None:
    app = make_app(bench_settings)
    assert snap_compare(app, terminal_size=size, run_before=_open_chat([]))


def test_jobs_with_starters(snap_compare, settings: Settings, api_key) -> None:
    """The chat opened on a failed job of the Jobs screen: its starters ("Show me similar
    failures"); the job, its run and fingerprint go with each question (test_assistant_modes).
    Only the failed run, finished: nothing on screen depends on how long ago work started."""
    seed_queue(settings, with_auth=False)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_jobs(pilot)
        await pilot.press("enter")
        await until_idle(pilot)
        await _open_empty_chat(pilot)

    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=run_before)


def test_inspect_with_starters(snap_compare, settings: Settings, api_key) -> None:
    """The chat opened on Inspect's statistics of a table, a column highlighted: its starters
    ("What anomalies do you see?", "Write a query to find duplicates")."""
    seeded = seed_inspect(settings)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("alt+i")
        await settle(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        await pilot.press("down")
        await until_idle(pilot)  # the column's distribution and the sample rows loaded
        await _open_empty_chat(pilot)

    assert snap_compare(make_app(seeded), terminal_size=TERMINAL, run_before=run_before)


async def _open_empty_chat(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("alt+a")
    await until(pilot, lambda: sidebar(pilot.app).up_to_date, "the chat drawn")
    await settle(pilot)
    steady_cursor(pilot.app)  # once the chat's input is there and focused: lit, not blinking
    await pilot.pause()


def test_long_conversation_drawn_from_its_tail(snap_compare, settings: Settings, api_key) -> None:
    """A conversation longer than the chat draws at once: its last paragraphs, scrolled up to
    the line that shows the rest (assistant_tail)."""
    paragraph = "The sales files differ in their **amount** column. " * 4 + "\n\n"
    entries = [UserEntry("Why do the sales files differ?"), TextEntry(TURN, paragraph * 30)]

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        pilot.app.service.assistant.transcript = lambda: list(entries)
        await settle(pilot)
        await pilot.press("alt+a")
        steady_cursor(pilot.app)
        await settle(pilot)
        sidebar(pilot.app).chat_log.scroll_home(animate=False)  # up to the line
        await pilot.pause()

    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=run_before)
