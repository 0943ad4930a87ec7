"""Discover driven as a user drives it, on a real catalogue made by the real scanner."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from casparian_core.config import Settings
from casparian_core.home import prepare_home
from casparian_core.scout.queries import FilePage, FileRow
from casparian_tui.screens.prompt import ConfirmPrompt, TextPrompt
from casparian_tui.screens.rules_manager import RuleEditor, RulesScreen
from casparian_tui.screens.scan_dialog import ScanScreen
from casparian_tui.screens.sources_manager import SourcesScreen
from casparian_tui.widgets.file_table import COUNT_AT_MOST, PAGE_SIZE, FileTable, page_label
from tests.tui.conftest import TERMINAL, make_app, settle, until, until_idle
from tests.tui.discover_seed import fixed_folder, seed_discover, write_tree


def shown_paths(app) -> list[str]:  # type: ignore[no-untyped-def]
    table = app.screen.query_one(FileTable)
    return [row.rel_path for row in table.page.rows] if table.page else []


def status_line(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#files-status").render())


async def open_discover(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("alt+d")
    await settle(pilot)


@pytest.fixture
def catalogue(settings: Settings, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    return seed_discover(settings, request.node.name)


async def test_lists_every_file_with_tags_and_counts(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        assert shown_paths(app)[:2] == ["exports/accounts.json", "exports/blob.csv"]
        assert len(shown_paths(app)) == 8
        assert status_line(app) == "Files 1–8 of 8"
        table = app.screen.query_one(FileTable)
        # All sources shown: each row names its source first.
        assert table.get_row(3)[:4] == ["warehouse", "sales/2026-q1.csv", "sales", "text"]
        assert table.get_row(2)[3] == "binary"  # blob.csv is not what its name says
        await pilot.press("1", "down", "enter")  # one source: no Source column
        await settle(pilot)
        assert table.get_row(6)[:2] == ["2026-11/app.log", "logs"]


def column_labels(table: FileTable) -> list[str]:
    return table.labels


@pytest.mark.parametrize(
    ("size", "all_sources", "one_source"),
    [
        (
            TERMINAL,
            ["Source", "Path", "Tag", "Kind", "Size", "Modified"],
            ["Path", "Tag", "Kind", "Size", "Modified"],
        ),
        (
            (80, 24),
            ["Source", "Path", "Tag", "Size", "Modified"],  # Kind goes, Modified is the date
            ["Path", "Tag", "Kind", "Size", "Modified"],
        ),
    ],
)
async def test_the_columns_fit_the_width_without_scrolling_sideways(
    settings, catalogue, size: tuple[int, int], all_sources: list[str], one_source: list[str]
) -> None:
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        await open_discover(pilot)
        table = app.screen.query_one(FileTable)
        # All sources at 80 columns leave room for the day only; otherwise "2026-11-26 10:00".
        assert len(table.get_row_at(0)[-1]) == (16 if size == TERMINAL else 10)
        for labels in (all_sources, one_source):
            assert column_labels(table) == labels
            assert table.virtual_size.width <= table.scrollable_content_region.width
            assert table.max_scroll_x == 0
            await pilot.press("1", "down", "enter")  # one source: no Source column
            await settle(pilot)


@pytest.mark.parametrize(
    ("size", "labels"), [(TERMINAL, ["Source", "Path", "Tag"]), ((80, 24), ["Path"])]
)
async def test_beside_the_preview_the_list_keeps_the_path_readable(
    settings, catalogue, size: tuple[int, int], labels: list[str]
) -> None:
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        await open_discover(pilot)
        await pilot.press("down", "down", "p")
        await settle(pilot)
        table = app.screen.query_one(FileTable)
        assert column_labels(table) == labels
        assert table.max_scroll_x == 0
        assert table.get_row_at(2)[labels.index("Path")].endswith("s/2026-q1.csv")


@pytest.mark.parametrize("size", [TERMINAL, (80, 24)])
async def test_the_sources_manager_cuts_paths_so_every_column_shows(
    settings, catalogue, size: tuple[int, int]
) -> None:
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        await open_discover(pilot)
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, SourcesScreen), "the sources manager")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.max_scroll_x == 0  # Last scan in view, no sideways scrolling
        name, path, *_, last_scan = table.get_row_at(0)
        assert name == "logs-2026" and path.endswith("/logs-2026")
        assert last_scan == "2026-11-27 11:00"
        if size == (80, 24):
            assert path.startswith("…")


async def test_sources_dropdown_follows_the_highlight_live(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("1")
        await pilot.press("down")  # "logs-2026" sorts before "warehouse"
        await settle(pilot)
        assert shown_paths(app) == ["2026-11/app.log", "2026-11/auth.log", "2026-12/auth.log"]
        await pilot.press("escape")  # Esc puts back the choice from before opening
        await until(pilot, lambda: len(shown_paths(app)) == 8, "all files again")
        assert app.current_mode == "discover"


async def test_typing_filters_the_dropdown_digits_included(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("1", "2", "0", "2", "6")  # `1` opens, then "2026" is typed
        await settle(pilot)
        dropdown = app.screen.query_one("#sources")
        assert [c.label for c in dropdown._shown] == ["logs-2026"]
        assert shown_paths(app)[0] == "2026-11/app.log"  # the single match is followed
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.focused, FileTable)
        assert not dropdown.is_open


async def test_tags_dropdown_counts_and_untagged(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("2")
        await settle(pilot)
        labels = [(c.label, c.detail) for c in app.screen.query_one("#tags").choices]
        assert labels == [("All files", "8"), ("logs", "3"), ("sales", "2"), ("untagged", "3")]
        await pilot.press("u", "n", "t", "enter")
        await settle(pilot)
        assert shown_paths(app) == ["exports/accounts.json", "exports/blob.csv", "sales/notes.txt"]


async def test_slash_filters_by_glob_or_substring_and_esc_clears(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("slash", *"*.csv", "enter")
        await settle(pilot)
        assert shown_paths(app) == ["exports/blob.csv", "sales/2026-q1.csv", "sales/2026-q2.csv"]
        assert "filter: *.csv" in status_line(app)
        await pilot.press("slash", "ctrl+u", *"AUTH")  # substring, any case; debounced
        await until(pilot, lambda: len(shown_paths(app)) == 2, "the substring filter")
        await pilot.press("escape")
        await until(pilot, lambda: len(shown_paths(app)) == 8, "the filter cleared")
        await pilot.press("escape")  # nothing left to clear: back to Home
        assert app.current_mode == "home"


async def test_preview_shows_csv_as_a_table_and_binary_as_hex(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("down", "p")  # exports/blob.csv
        await settle(pilot)
        body = str(app.screen.query_one("#preview-body").render())
        assert "00000000" in body
        await pilot.press("down")  # sales/2026-q1.csv
        await settle(pilot)
        assert "region" in app.export_screenshot()  # the CSV header, drawn as a table
        preview_text = app.screen.query_one("#preview-title").render()
        assert "sales/2026-q1.csv" in str(preview_text)
        await pilot.press("p")
        assert not app.screen.query_one("#preview").display


async def test_t_tags_the_selected_file_by_hand(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("t")
        await until_idle(pilot)
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"accounts", "enter")
        await settle(pilot)
        table = app.screen.query_one(FileTable)
        assert table.get_row(1)[2] == "accounts (manual)"
    conn = sqlite3.connect(settings.database_path)
    assert conn.execute(
        "SELECT tag, tag_source FROM scout_files WHERE rel_path = 'exports/accounts.json'"
    ).fetchone() == ("accounts", "manual")


async def test_the_cursor_stays_on_the_file_after_tagging_it(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("down", "down", "t")
        await until_idle(pilot)
        await pilot.press(*"exports", "enter")
        await settle(pilot)
        table = app.screen.query_one(FileTable)
        assert table.cursor_row == 2
        assert table.current_file is not None
        assert table.current_file.tag == "exports"


async def test_the_cursor_follows_an_edited_rule_to_its_new_place(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("R")
        await settle(pilot)
        rules = app.screen
        assert [r.tag for r in rules.rules] == ["sales", "logs"]
        await pilot.press("down", "e")
        await until_idle(pilot)
        app.screen.query_one("#rule-priority", Input).value = "20"
        await pilot.press("enter")
        await settle(pilot)
        assert [r.tag for r in rules.rules] == ["logs", "sales"]
        assert rules.current is not None and rules.current.tag == "logs"


async def test_removing_the_chosen_source_shows_all_sources_again(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("1", "down", "enter")  # logs-2026
        await settle(pilot)
        assert len(shown_paths(app)) == 3
        await pilot.press("M")
        await settle(pilot)
        await pilot.press("d")
        await until_idle(pilot)
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: len(shown_paths(app)) == 5, "the remaining source's files")
        assert status_line(app) == "Files 1–5 of 5"
        assert app.screen.source_id is None


async def test_shift_t_tags_everything_shown_after_confirming(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("slash", *"2026-11", "enter")
        await settle(pilot)
        await pilot.press("T")
        await until_idle(pilot)
        assert isinstance(app.screen, TextPrompt)
        assert "2" in str(app.screen.title_text)
        await pilot.press(*"november", "enter")
        await until_idle(pilot)
        assert isinstance(app.screen, ConfirmPrompt)
        await pilot.press("y")
        await settle(pilot)
    conn = sqlite3.connect(settings.database_path)
    tagged = conn.execute("SELECT rel_path FROM scout_files WHERE tag = 'november' ORDER BY 1")
    assert [r[0] for r in tagged] == ["2026-11/app.log", "2026-11/auth.log"]


async def test_rules_manager_adds_toggles_and_deletes(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("down", "R")  # on exports/blob.csv: a new rule starts as *.csv
        await settle(pilot)
        assert isinstance(app.screen, RulesScreen)
        await pilot.press("n")
        await until_idle(pilot)
        editor = app.screen
        assert isinstance(editor, RuleEditor)
        assert editor.query_one("#rule-pattern").value == "*.csv"
        editor.query_one("#rule-tag").value = "csv"
        await pilot.press("enter")
        await settle(pilot)
        rules = app.screen.rules
        assert [(r.pattern, r.tag, r.files) for r in rules][-1] == ("*.csv", "csv", 1)
        assert [r.tag for r in rules] == ["sales", "logs", "csv"]  # by priority, then age
        await pilot.press("down", "down", "enter")  # disable the new rule
        await settle(pilot)
        assert not app.screen.rules[-1].enabled
        await pilot.press("d")
        await until_idle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert sorted(r.tag for r in app.screen.rules) == ["logs", "sales"]


async def test_sources_manager_watch_and_remove(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, SourcesScreen)
        assert [s.name for s in app.screen.sources] == ["logs-2026", "warehouse"]
        await pilot.press("w")
        await settle(pilot)
        assert app.screen.sources[0].watch
        await pilot.press("d")
        await until_idle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert [s.name for s in app.screen.sources] == ["warehouse"]
        await pilot.press("escape")
        await until(pilot, lambda: len(shown_paths(app)) == 5, "the list without logs")
    assert catalogue[1].is_dir()  # removing a source never touches the files


async def test_scan_dialog_catalogues_a_new_folder(settings, catalogue, request) -> None:
    folder = fixed_folder(request.node.name + "-new")
    write_tree(folder, {"a.csv": "x\n1\n", "b/c.txt": "hello\n"})
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("s")
        await until_idle(pilot)
        assert isinstance(app.screen, ScanScreen)
        await pilot.press(*str(folder), "enter")
        await until(pilot, lambda: app.screen.summary is not None, "the scan")
        assert "Done: 2 files seen — 2 new" in str(app.screen.query_one("#scan-status").render())
        assert str(app.screen.query_one("#scan-hint").render()) == "Esc closes"
        await pilot.press("escape")
        await until(pilot, lambda: status_line(app) == "Files 1–10 of 10", "the new files")


async def test_scan_dialog_reports_a_bad_path_and_stays_open(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        await pilot.press("s")
        await until_idle(pilot)
        await pilot.press(*"/no/such/folder", "enter")
        await settle(pilot)
        assert "does not exist" in str(app.screen.query_one("#scan-status").render())
        assert isinstance(app.screen, ScanScreen)


async def start_a_large_scan(pilot, name: str) -> ScanScreen:  # type: ignore[no-untyped-def]
    """Open the scan dialog on a new folder of 20,000 files and submit it; returns the dialog."""
    folder = fixed_folder(name)
    for i in range(20_000):
        (folder / f"f{i:05d}.txt").touch()
    await open_discover(pilot)
    await pilot.press("s")
    await until_idle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ScanScreen)
    # Submit without pilot.press: press() waits for the app to go idle, i.e. for the whole
    # scan, and a key meant to stop it would come too late.
    screen.query_one(Input).value = str(folder)
    await screen.query_one(Input).action_submit()
    return screen


async def test_esc_cancels_a_running_scan_and_keeps_what_it_found(settings, request) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await start_a_large_scan(pilot, request.node.name)
        for _ in range(1000):
            if screen.scanning:
                break
            await asyncio.sleep(0.005)
        await pilot.press("escape")
        assert screen.cancel.is_set()
        await until(pilot, lambda: screen.summary is not None, "the cancelled scan")
        assert screen.summary.cancelled
        assert screen.summary.seen <= 20_000
        assert screen.summary.missing == 0  # unvisited files are not marked missing
        assert "Cancelled after" in str(screen.query_one("#scan-status").render())
        assert str(screen.query_one("#scan-hint").render()) == "Esc closes"
        await pilot.press("escape", "M")
        await settle(pilot)
        sources = app.screen
        assert isinstance(sources, SourcesScreen)
        # The catalogued files came from a scan that never completed: not "never".
        kept = sources.sources[0].files
        last_scan = sources.query_one(DataTable).get_row_at(0)[5]
        assert last_scan == ("not completed" if kept else "never")


async def test_quitting_during_a_scan_stops_it_and_keeps_what_it_found(settings, request) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        screen = await start_a_large_scan(pilot, request.node.name)
        await until(pilot, lambda: screen.cancel in app.running_work, "the scan to start")
        await app.action_quit()
        await until(pilot, lambda: isinstance(app.screen, ConfirmPrompt), "the question")
        await pilot.press("y")
        assert screen.cancel.is_set()  # stopped as Esc stops it, not left to run to its end
    with sqlite3.connect(settings.database_path) as conn:
        (last_scan,) = conn.execute("SELECT last_scan_at FROM scout_sources").fetchone()
        (kept,) = conn.execute("SELECT count(*) FROM scout_files").fetchone()
    assert last_scan is None  # the scan did not complete
    assert kept < 20_000


async def test_file_list_pages_through_a_large_source(settings, request) -> None:
    folder = fixed_folder(request.node.name)
    for i in range(2 * PAGE_SIZE + 50):
        (folder / f"f{i:04d}.txt").touch()

    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        await service.scout.scan(folder, hash_files=False)
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        assert status_line(app) == f"Files 1–{PAGE_SIZE} of {2 * PAGE_SIZE + 50}"
        table = app.screen.query_one(FileTable)
        table.move_cursor(row=PAGE_SIZE - 1)
        await pilot.press("down")
        await until(pilot, lambda: table.page.offset == PAGE_SIZE, "the second page")
        assert shown_paths(app)[0] == f"f{PAGE_SIZE:04d}.txt"
        assert table.row_count == PAGE_SIZE  # one page in memory, never all files
        await pilot.press("up")
        await until(pilot, lambda: table.page.offset == 0, "the first page again")
        assert table.cursor_row == PAGE_SIZE - 1


def drawn_line(table: FileTable, y: int) -> str:
    return table.render_line(y).text


async def test_the_cursor_keeps_its_row_in_view_keys_and_clicks_move_it(settings, request) -> None:
    """The list draws only the lines on screen: End, Page up/down and Home scroll the cursor's
    row into view below the header, and a click puts the cursor on the row clicked."""
    folder = fixed_folder(request.node.name)
    for i in range(PAGE_SIZE):
        (folder / f"f{i:04d}.txt").touch()

    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        await service.scout.scan(folder, hash_files=False)
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        table = app.screen.query_one(FileTable)
        bottom = table.scrollable_content_region.height - 1
        assert "Path" in drawn_line(table, 0) and "f0000.txt" in drawn_line(table, 1)
        await pilot.press("end")
        await settle(pilot)
        assert table.cursor_row == PAGE_SIZE - 1
        assert f"f{PAGE_SIZE - 1:04d}.txt" in drawn_line(table, bottom)
        assert "Path" in drawn_line(table, 0)  # the header stays on top
        await pilot.press("pageup")
        await settle(pilot)
        assert table.cursor_row == PAGE_SIZE - 1 - (bottom)  # a screenful of rows up
        await pilot.press("home")
        await settle(pilot)
        assert table.cursor_row == 0 and table.scroll_offset.y == 0
        await pilot.click(FileTable, offset=(5, 4))  # the fourth row under the header
        assert table.cursor_row == 3
        assert table.current_file is not None and table.current_file.rel_path == "f0003.txt"


async def test_changes_from_elsewhere_appear(settings, catalogue) -> None:
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        write_tree(catalogue[0], {"sales/2026-q3.csv": "id\n9\n"})
        await app.service.scout.scan(catalogue[0])  # publishes DataChanged
        await until(pilot, lambda: "sales/2026-q3.csv" in shown_paths(app), "the new file")
        # The count is a query of its own: it may land a moment after the page.
        await until(pilot, lambda: status_line(app).endswith("of 9"), "the new count")
        assert status_line(app) == "Files 1–9 of 9"


def test_the_status_line_says_when_the_count_stopped_at_its_cap() -> None:
    row = FileRow(1, 1, "a.csv", "/data/a.csv", 1, 0, "new", None, None, None, None, None)
    page = FilePage([row], offset=0, has_more=True)

    assert page_label(page, COUNT_AT_MOST + 1, capped=True) == f"Files 1–1 of {COUNT_AT_MOST:,}+"
    assert page_label(page, COUNT_AT_MOST, capped=True) == f"Files 1–1 of {COUNT_AT_MOST:,}"
    assert page_label(page, None) == "Files 1–1 of …"


async def test_a_source_past_the_count_cap_is_counted_exactly(settings: Settings) -> None:
    many = COUNT_AT_MOST + 50
    prepare_home(settings)
    with sqlite3.connect(settings.database_path) as conn:
        conn.execute(
            "INSERT INTO scout_sources (id, name, path, created_at) VALUES (1, 'big', '/b', 't')"
        )
        conn.executemany(
            "INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status,"
            " first_seen, last_seen) VALUES (1, ?, ?, 1, 1, 'new', 't', 't')",
            ((f"/b/{i:05d}", f"{i:05d}") for i in range(many)),
        )
    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await open_discover(pilot)
        assert status_line(app) == f"Files 1–{PAGE_SIZE} of {many:,}"
        await pilot.press("slash", "0", "enter")  # a text filter: counted up to the cap
        await settle(pilot)
        assert status_line(app) == f"Files 1–{PAGE_SIZE} of {COUNT_AT_MOST:,}+  ·  filter: 0"
