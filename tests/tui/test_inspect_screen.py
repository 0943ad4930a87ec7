"""Driving Inspect on a home with fixed output tables: the table list, statistics, a column's
distribution and sample rows, the SQL console (run, errors, history, Esc cancels), the row
filter, export, quarantined rows, the producing job, and what the assistant is told."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rich.text import Text
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static, TextArea

from casparian_core.config import Settings
from casparian_tui.app import CasparianApp
from casparian_tui.screens.help import describe_bindings
from casparian_tui.screens.inspect import InspectScreen
from casparian_tui.widgets.arrow_table import ArrowTable
from casparian_tui.widgets.inspect_distribution import DistributionChart
from tests.tui.conftest import TERMINAL, card_text, make_app, settle, until, until_idle
from tests.tui.inspect_support import LONG_QUERY, ORDERS, seed_inspect
from tests.tui.test_navigation import parse_terminal_bytes


@pytest.fixture
def seeded(settings: Settings) -> Settings:
    return seed_inspect(settings)


async def open_inspect(pilot) -> InspectScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("alt+i")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, InspectScreen)
    return screen


def text_of(screen: Screen[object], selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def style_of(screen: Screen[object], selector: str) -> object:
    content = screen.query_one(selector, Static).content
    return content.style if isinstance(content, Text) else None


def chart_text(screen: InspectScreen) -> str:
    return str(screen.query_one(DistributionChart).render())


async def test_tables_with_rows_and_quarantined_rows(seeded: Settings) -> None:
    app = make_app(seeded)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        assert "2 tables, 420 rows, 3 quarantined" in card_text(app, "inspect")
        screen = await open_inspect(pilot)
        options = screen.query_one("#table-list", OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        # orders_quarantine is not listed: its count is on orders, Q shows its rows.
        assert [label.split()[0] for label in labels] == ["events", "orders"]
        assert labels[1].split()[1:] == ["400", "⚠", "3"]
        await pilot.press("j")
        assert "orders_csv@1.2.0" in text_of(screen, "#table-title")


async def test_enter_shows_statistics_then_each_column_its_distribution(seeded: Settings) -> None:
    app = make_app(seeded)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await open_inspect(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        stats = {s.name: s for s in screen.column_stats}
        assert stats["amount"].null_pct == pytest.approx(100 * 16 / ORDERS)
        assert stats["region"].top_values[0] == ("north", 172)
        # The first column is selected: its histogram, and the sample rows with it first.
        assert screen.column == "order_id"
        assert chart_text(screen).startswith("order_id · histogram · 400 rows")
        sample = screen.query_one(".sample-table", ArrowTable)
        assert sample.row_count == ORDERS
        await pilot.press("down", "down")  # region: text, as its most frequent values
        await settle(pilot)
        assert screen.column == "region"
        assert chart_text(screen).splitlines()[1].startswith("north")
        await pilot.press("down")  # ordered_at: rows per month, January to June
        await settle(pilot)
        lines = chart_text(screen).splitlines()
        assert lines[0].startswith("ordered_at · rows per month")
        assert [line.split()[0] for line in lines[1:]] == [f"2026-0{m}" for m in range(1, 7)]


async def test_the_sql_editor_runs_shows_errors_and_keeps_a_history(seeded: Settings) -> None:
    app = make_app(seeded)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await open_inspect(pilot)
        await pilot.press("q")
        editor = screen.query_one("#sql-editor", TextArea)
        assert editor.has_focus and editor.text == "SELECT * FROM events LIMIT 100"
        helped = describe_bindings(screen.active_bindings.values())
        assert {line.description: line.keys for line in helped}["Run query"] == "^r / Ctrl+Enter"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.query_one(".query-table", ArrowTable).row_count == 20
        assert text_of(screen, "#query-status").startswith("20 rows in ")
        editor.load_text("SELECT region, count(*) AS n FROM orders GROUP BY ALL ORDER BY n DESC")
        await pilot.press("ctrl+enter")  # the key kitty-protocol terminals send
        await settle(pilot)
        assert screen.query_one(".query-table", ArrowTable).get_row_at(0)[0] == "north"
        editor.load_text("SELECT nope FROM orders")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "nope" in text_of(screen, "#query-status") and not screen.query(".query-table")
        assert style_of(screen, "#query-status") == "red"
        editor.load_text("DROP VIEW orders")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "Only SELECT" in text_of(screen, "#query-status")
        # Ctrl+Up goes back through this session's queries, Ctrl+Down comes forward again.
        await pilot.press("ctrl+up")
        assert editor.text == "DROP VIEW orders"
        await pilot.press("ctrl+up", "ctrl+up")
        assert editor.text.startswith("SELECT region")
        await pilot.press("ctrl+down", "ctrl+down", "ctrl+down")
        assert editor.text == "DROP VIEW orders"  # the text being edited when going back


async def test_esc_cancels_a_query_that_never_ends_and_keys_still_work(seeded: Settings) -> None:
    app = make_app(seeded)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await open_inspect(pilot)
        await pilot.press("q")
        screen.query_one("#sql-editor", TextArea).load_text(LONG_QUERY)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: bool(screen._cancellable_work()), "the query to start")
        assert "Esc cancels" in text_of(screen, "#query-status")
        await pilot.press("escape")
        await settle(pilot)  # returns only once the DuckDB query stopped
        assert text_of(screen, "#query-status") == "Cancelled."
        assert screen.current_view == "query-view"  # the first Esc only cancelled
        await pilot.press("escape")
        assert screen.current_view == "table-view"
        await pilot.press("escape")
        assert app.current_mode == "home"


def test_run_and_history_keys_arrive_from_a_real_terminal() -> None:
    """Ctrl+Enter reaches the app only from kitty-protocol terminals: Ctrl+R always does."""
    assert [k.key for k in parse_terminal_bytes("\x12")] == ["ctrl+r"]
    assert [k.key for k in parse_terminal_bytes("\x1b[1;5A")] == ["ctrl+up"]
    assert [k.key for k in parse_terminal_bytes("\x1b[1;5B")] == ["ctrl+down"]


async def test_f_filters_the_sample_rows(seeded: Settings) -> None:
    app = make_app(seeded)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await open_inspect(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        await pilot.press("f")
        field = screen.query_one("#row-filter", Input)
        assert field.has_focus
        await pilot.press(*"region = 'west' AND amount > 100", "enter")
        await settle(pilot)
        sample = screen.query_one(".sample-table", ArrowTable)
        assert 0 < sample.row_count < ORDERS
        assert "where region = 'west' AND amount > 100" in text_of(screen, "#sample-status")
        await pilot.press("f")
        field.value = "no_such_column = 1"
        await pilot.press("enter")
        await settle(pilot)
        assert "no_such_column" in text_of(screen, "#sample-status")
        await pilot.press("escape")  # closes the filter: every row again
        await settle(pilot)
        assert not field.display
        assert screen.query_one(".sample-table", ArrowTable).row_count == ORDERS


async def test_e_exports_the_filtered_rows_and_a_bad_path_keeps_the_dialog(
    seeded: Settings, tmp_path: Path
) -> None:
    from casparian_tui.widgets.inspect_export import ExportDialog

    app = make_app(seeded)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await open_inspect(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        await pilot.press("f", *"region = 'east'", "enter")
        await settle(pilot)
        await pilot.press("e")
        await until_idle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        assert dialog.query_one("#export-path", Input).value == "orders.parquet"
        await pilot.click("#format-csv")  # the suffix follows the format
        assert dialog.query_one("#export-path", Input).value == "orders.csv"
        blocked = tmp_path / "not-a-folder"
        blocked.write_text("a file where a folder should be")
        dialog.query_one("#export-path", Input).value = str(blocked / "orders.csv")
        await pilot.click("#export-start")
        await until(pilot, lambda: style_of(dialog, "#export-status") == "red", "the error")
        assert app.screen is dialog and not list(tmp_path.glob("not-a-folder/*"))
        target = tmp_path / "east.parquet"
        dialog.query_one("#export-path", Input).value = str(target)
        await pilot.click("#format-parquet")
        await pilot.click("#export-start")
        await until(pilot, lambda: app.screen is screen, "the dialog to close")
        assert pq.read_table(target).column("region").to_pylist() == ["east"] * 57


async def test_quarantined_rows_with_reasons_one_key_away(seeded: Settings) -> None:
    app = make_app(seeded)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await open_inspect(pilot)
        await pilot.press("j", "Q")
        await settle(pilot)
        assert screen.current_view == "quarantine-view"
        rows = screen.query_one(".quarantine-table", ArrowTable)
        assert rows.row_count == 3
        assert rows.get_row_at(0)[:3] == ["value -12.5 is below min 0", "amount", "min"]
        assert "3" in text_of(screen, "#quarantine-title")
        await pilot.press("escape")
        assert screen.current_view == "table-view"


async def test_j_opens_the_job_that_produced_the_table(seeded: Settings) -> None:
    app = make_app(seeded)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_inspect(pilot)
        await pilot.press("J")  # events: no job recorded
        await settle(pilot)
        assert app.current_mode == "inspect"
        await pilot.press("j", "J")
        await settle(pilot)
        assert app.current_mode == "jobs"


async def test_the_assistant_is_told_the_table_column_and_statistics(seeded: Settings) -> None:
    app = make_app(seeded)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await open_inspect(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)
        context = screen.assistant_context()
        assert context.mode == "inspect"
        assert context.selection == {"table": "orders", "rows": "400", "column": "amount"}
        assert context.detail is not None and "region VARCHAR nulls 0.0%" in context.detail


async def test_no_tables_says_how_to_make_some(settings: Settings) -> None:
    app: CasparianApp = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await open_inspect(pilot)
        assert screen.query_one("#inspect-empty").display
        assert not screen.query_one("#inspect-body").display
