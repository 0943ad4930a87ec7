"""Pictures of Parser Bench: empty, the list, a running test, and passed, warned, failed results.

Tests run for real; only their duration is pinned (see `fix_durations`) so the time and
throughput on screen are the same in every run. HOME is the test's tmp folder, so every path
on screen reads `~/home/...`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from casparian_core.config import Settings
from casparian_tui.widgets.arrow_table import ArrowTable
from tests.tui.bench_support import (
    GATE_PARSER,
    KEY_ERROR_PARSER,
    READINGS_PARSER,
    bench_settings,
    data_dir,
    fix_durations,
    open_bench,
    open_picker,
    pick,
    result_text,
    run_test_on,
    until,
    write_parser,
)
from tests.tui.conftest import TERMINAL, make_app

__all__ = ["bench_settings"]  # the fixture, used by name


def test_empty_home(snap_compare, bench_settings: Settings) -> None:
    (bench_settings.parsers_dir / "sales_csv.py").unlink()
    assert snap_compare(make_app(bench_settings), terminal_size=TERMINAL, run_before=open_bench)


def test_list_with_health_and_an_unusable_parser(snap_compare, bench_settings: Settings) -> None:
    write_parser(
        bench_settings,
        "auth_log",
        "name = 'auth_log'\ntopics = ['linux_auth']\ndef parse(path):\n    return []\n",
    )
    write_parser(bench_settings, "events", "def parse(path):\n    return []\n")
    (bench_settings.parsers_dir / "broken.py").write_text("def parse(path)\n")
    with sqlite3.connect(bench_settings.database_path) as conn:
        conn.executemany(
            "INSERT INTO cf_parser_tests (parser_name, parser_path, input_path, status,"
            " tested_at) VALUES (?, '/p.py', '/in', ?, '2026-11-27T10:00:00.000000Z')",
            [("sales_csv", "COMPLETED"), ("events", "COMPLETED_WITH_WARNINGS")],
        )

    async def highlight_broken(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_bench(pilot)
        await pilot.press("down")  # auth_log, broken, events, sales_csv: broken is second

    app = make_app(bench_settings)
    assert snap_compare(app, terminal_size=TERMINAL, run_before=highlight_broken)


@pytest.fixture
def open_gate(bench_settings: Settings) -> Iterator[None]:
    """Releases the gate parser when the test ends, whatever happened to the app."""
    yield
    (data_dir(bench_settings) / "gate").touch()


def test_running(snap_compare, bench_settings: Settings, open_gate: None) -> None:
    """Frozen while the gate parser waits; quitting the app cancels the test."""
    write_parser(bench_settings, "gate", GATE_PARSER)

    async def start_test(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_bench(pilot)
        await open_picker(pilot)
        await pick(pilot, "clean")
        await until(pilot, lambda: "waiting for the gate" in result_text(pilot.app), "the log")
        await pilot.pause()

    assert snap_compare(make_app(bench_settings), terminal_size=TERMINAL, run_before=start_test)


def _tested_on(typed: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_bench(pilot)
        await run_test_on(pilot, typed)

    return run_before


def test_passed(snap_compare, bench_settings: Settings) -> None:
    app = fix_durations(make_app(bench_settings))
    assert snap_compare(app, terminal_size=TERMINAL, run_before=_tested_on("clean"))


def test_quarantined_rows_warn(snap_compare, bench_settings: Settings) -> None:
    app = fix_durations(make_app(bench_settings))
    assert snap_compare(app, terminal_size=TERMINAL, run_before=_tested_on("q1"))


def test_failed_with_hint_and_traceback(snap_compare, bench_settings: Settings) -> None:
    write_parser(bench_settings, "orders", KEY_ERROR_PARSER)  # first in the list
    app = fix_durations(make_app(bench_settings))
    assert snap_compare(app, terminal_size=TERMINAL, run_before=_tested_on("clean"))


def _first_rows_at_80_columns(*keys: str):  # type: ignore[no-untyped-def]
    """Test `readings` (more columns than the pane holds), then focus its first-rows table as
    Tab does, and press `keys` in it."""

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_bench(pilot)
        await pilot.press("down")  # fixed_width_accounts, readings, sales_csv
        await run_test_on(pilot, "clean")
        pilot.app.screen.query_one(ArrowTable).focus()
        await pilot.press(*keys)
        await pilot.pause()

    return run_before


@pytest.fixture
def readings_settings(bench_settings: Settings) -> Settings:
    """The readings parser beside sales_csv, and one whose name and topic are too long for
    the list at 80 columns."""
    write_parser(bench_settings, "readings", READINGS_PARSER)
    write_parser(
        bench_settings,
        "fixed_width_accounts",
        "topics = ['fixed_width_accounts']\ndef parse(path):\n    return []\n",
    )
    return bench_settings


def test_first_rows_at_80_columns(snap_compare, readings_settings: Settings) -> None:
    app = fix_durations(make_app(readings_settings))
    run_before = _first_rows_at_80_columns()
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_first_rows_scrolled_sideways_at_80_columns(
    snap_compare, readings_settings: Settings
) -> None:
    app = fix_durations(make_app(readings_settings))
    run_before = _first_rows_at_80_columns("end")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
