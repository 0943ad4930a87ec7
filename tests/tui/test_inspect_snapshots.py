"""Pictures of Inspect's states on fixed tables (tests/tui/inspect_support.py), each at 120x36
and at 80 columns: no tables, the table list, statistics with a numeric, a text and a timestamp
column's distribution, the SQL editor with a result, an error and a query running, the row
filter, the export dialog, and the quarantined rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.widgets import TextArea

from casparian_core.config import Settings
from tests.tui.conftest import make_app, settle, until, until_idle
from tests.tui.inspect_support import LONG_QUERY, seed_inspect

SIZES = [pytest.param((120, 36), id="120x36"), pytest.param((80, 24), id="80x24")]

Step = Callable[..., Awaitable[None]]


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    return seed_inspect(settings)


@pytest.fixture(autouse=True)
def _fixed_query_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A query's time is the one thing that differs from run to run."""
    monkeypatch.setattr("casparian_tui.widgets.inspect_query.elapsed_text", lambda ms: "12 ms")


def keys(*pressed: str) -> Step:
    async def step(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press(*pressed)
        await settle(pilot)

    return step


def dialog_key(key: str) -> Step:
    """A key that opens a dialog: its worker waits for the answer, so wait only until idle."""

    async def step(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press(key)
        await until_idle(pilot)

    return step


def sql(text: str, *, wait: bool = True) -> Step:
    """Open the editor, put `text` in it and run it (waiting for the result, or only until
    the query is running)."""

    async def step(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("q")
        editor = pilot.app.screen.query_one("#sql-editor", TextArea)
        editor.cursor_blink = False
        editor.load_text(text)
        await pilot.press("ctrl+r")
        if wait:
            await settle(pilot)
        else:
            screen = pilot.app.screen
            await until(pilot, lambda: bool(screen._cancellable_work()), "the query to run")
            await pilot.pause()

    return step


def drive(*steps: Step):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("alt+i")
        await settle(pilot)
        for step in steps:
            await step(pilot)

    return run_before


def snap(snap_compare, settings: Settings, size: tuple[int, int], run_before) -> bool:  # type: ignore[no-untyped-def]
    return snap_compare(make_app(settings), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_inspect_no_tables(snap_compare, settings: Settings, size: tuple[int, int]) -> None:
    assert snap(snap_compare, settings, size, drive())


@pytest.mark.parametrize("size", SIZES)
def test_inspect_table_list(snap_compare, seeded: Settings, size: tuple[int, int]) -> None:
    assert snap(snap_compare, seeded, size, drive(keys("j")))


@pytest.mark.parametrize("size", SIZES)
def test_inspect_numeric_distribution(
    snap_compare, seeded: Settings, size: tuple[int, int]
) -> None:
    assert snap(snap_compare, seeded, size, drive(keys("j", "enter"), keys("down")))


@pytest.mark.parametrize("size", SIZES)
def test_inspect_text_distribution(snap_compare, seeded: Settings, size: tuple[int, int]) -> None:
    assert snap(snap_compare, seeded, size, drive(keys("j", "enter"), keys("down", "down")))


@pytest.mark.parametrize("size", SIZES)
def test_inspect_timestamp_distribution(
    snap_compare, seeded: Settings, size: tuple[int, int]
) -> None:
    steps = drive(keys("j", "enter"), keys("down", "down", "down"))
    assert snap(snap_compare, seeded, size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_inspect_sql_result(snap_compare, seeded: Settings, size: tuple[int, int]) -> None:
    query = (
        "SELECT region, count(*) AS orders, round(avg(amount), 2) AS average\n"
        "FROM orders GROUP BY region ORDER BY orders DESC"
    )
    assert snap(snap_compare, seeded, size, drive(sql(query)))


@pytest.mark.parametrize("size", SIZES)
def test_inspect_sql_error(snap_compare, seeded: Settings, size: tuple[int, int]) -> None:
    assert snap(snap_compare, seeded, size, drive(sql("SELECT nope FROM orders")))


@pytest.mark.parametrize("size", SIZES)
def test_inspect_sql_running(snap_compare, seeded: Settings, size: tuple[int, int]) -> None:
    assert snap(snap_compare, seeded, size, drive(sql(LONG_QUERY, wait=False)))


@pytest.mark.parametrize("size", SIZES)
def test_inspect_sql_cancelled(snap_compare, seeded: Settings, size: tuple[int, int]) -> None:
    assert snap(snap_compare, seeded, size, drive(sql(LONG_QUERY, wait=False), keys("escape")))


@pytest.mark.parametrize("size", SIZES)
def test_inspect_filter(snap_compare, seeded: Settings, size: tuple[int, int]) -> None:
    steps = drive(keys("j", "enter"), keys("f", *"region = 'west' AND amount > 200", "enter"))
    assert snap(snap_compare, seeded, size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_inspect_export_dialog(snap_compare, seeded: Settings, size: tuple[int, int]) -> None:
    assert snap(snap_compare, seeded, size, drive(keys("j"), dialog_key("e")))


@pytest.mark.parametrize("size", SIZES)
def test_inspect_quarantine(snap_compare, seeded: Settings, size: tuple[int, int]) -> None:
    assert snap(snap_compare, seeded, size, drive(keys("j", "Q")))
