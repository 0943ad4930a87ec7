"""ArrowTable on 100,000 rows: a screen converts only the rows it shows (counted through
`DisplayBackend.converted_rows`), a jump to the last row shows that row's true values, and the
keys, the cursor and the widths of numbers hold while rows are converted block by block; each
kind of value as one line of text, the header fixed, clicks and a row cursor."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate

from casparian_core.api import NULL_CELL, SHOWN_CELL_CHARS
from casparian_tui.widgets.arrow_table import BLOCK_ROWS, ArrowTable, DisplayBackend

ROWS = 100_000


def big_table() -> pa.Table:
    """Values whose text grows with the row: the widest of each column sits in the last row."""
    return pa.table(
        {
            "id": pa.array(range(ROWS), pa.int64()),
            "price": pa.array([Decimal(n) / 100 for n in range(ROWS)], pa.decimal128(12, 2)),
            "ratio": pa.array([n / 7 if n < ROWS - 1 else 1e300 / 3 for n in range(ROWS)]),
            "name": pa.array(
                [f"row-{n}" + ("-last-and-longest" if n == ROWS - 1 else "") for n in range(ROWS)]
            ),
        }
    )


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ArrowTable(big_table())


def backend_of(table: ArrowTable) -> DisplayBackend:
    assert isinstance(table.backend, DisplayBackend)
    return table.backend


def screen_text(table: ArrowTable) -> str:
    """The lines the table draws now, as plain text."""
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def test_the_first_screen_converts_the_first_and_last_blocks_only() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(ArrowTable)
        assert table.get_row_at(0)[0] == "    0"  # padded to the widest id, 99999
        assert backend_of(table).converted_rows == BLOCK_ROWS + ROWS % BLOCK_ROWS


async def test_ctrl_end_shows_the_last_rows_true_values() -> None:
    app = TableApp()
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.query_one(ArrowTable)
        table.focus()
        await pilot.press("ctrl+end")
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        assert table.cursor_coordinate == Coordinate(ROWS - 1, 3)
        shown = [str(c.plain) if hasattr(c, "plain") else c for c in table.get_row_at(ROWS - 1)]
        assert [cell.strip() for cell in shown] == [
            "99999",
            "999.99",
            str(1e300 / 3),
            "row-99999-last-and-longest",
        ]
        assert "row-99999-last-and-longest" in screen_text(table)
        assert "99998" in screen_text(table)
        # the jump converted the last screen's blocks, never the 100,000 rows in between
        assert backend_of(table).converted_rows <= 3 * BLOCK_ROWS


async def test_paging_up_from_the_end_converts_what_comes_into_view() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(ArrowTable)
        table.focus()
        await pilot.press("ctrl+end")
        for _ in range(20):
            await pilot.press("pageup")
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        row = table.cursor_row
        assert row < ROWS - 20 * 20  # twenty pages of at least 20 rows each
        assert f"row-{row}" in screen_text(table)
        assert backend_of(table).converted_rows < 6 * BLOCK_ROWS


async def test_keys_move_the_cell_cursor_and_numbers_stay_right_aligned() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(ArrowTable)
        table.focus()
        await pilot.press("down", "down", "right")
        assert table.cursor_coordinate == Coordinate(2, 1)
        assert table.get_cell_at(table.cursor_coordinate) == "  0.02"  # as wide as 999.99
        await pilot.press("end")
        assert table.cursor_coordinate == Coordinate(2, 3)
        await pilot.press("home", "ctrl+end", "ctrl+home")
        assert table.cursor_coordinate == Coordinate(0, 0)


async def test_a_wider_value_met_on_scrolling_widens_its_column() -> None:
    table = pa.table({"ratio": [1.5] * (3 * BLOCK_ROWS) + [123456.789] + [2.5] * BLOCK_ROWS})
    backend = DisplayBackend(table)
    widened = []
    backend.on_wider = lambda: widened.append(True)
    assert backend.column_content_widths == [3]  # the first and last blocks' widest
    assert backend.get_row_at(3 * BLOCK_ROWS) == ["123456.789"]
    assert widened == [True]
    assert backend.column_content_widths == [10]
    assert backend.get_row_at(0) == ["       1.5"]  # earlier rows padded to the new width


def test_an_empty_table_has_no_rows_and_label_wide_columns() -> None:
    backend = DisplayBackend(
        pa.table({"n": pa.array([], pa.int32()), "s": pa.array([], pa.string())})
    )
    assert backend.row_count == 0
    assert backend.column_content_widths == [0, 0]


async def test_the_table_redraws_a_column_widened_by_a_row_met_later() -> None:
    names = ["a"] * (4 * BLOCK_ROWS)
    names[2 * BLOCK_ROWS] = "a-name-from-the-middle-block"

    class NamesApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ArrowTable(pa.table({"name": names, "n": range(len(names))}))

    app = NamesApp()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(ArrowTable)
        table.move_cursor(row=2 * BLOCK_ROWS, animate=False)
        await pilot.pause()
        await pilot.pause()
        header, *_, last = screen_text(table).splitlines()
        assert last.startswith(f" {names[2 * BLOCK_ROWS]} ")  # whole, not cut
        n_starts = header.index(" n ") + 1  # the header moved with the widened column
        assert last[n_starts : n_starts + 4] == " 512"


def test_each_kind_of_value_as_one_line_of_text() -> None:
    backend = DisplayBackend(
        pa.table(
            {
                "note": ["first line\nsecond", None],
                "day": pa.array([date(2026, 1, 2), None], pa.date32()),
                "took": pa.array([timedelta(minutes=61), None], pa.duration("s")),
                "tags": pa.array([["a", "b"], []], pa.list_(pa.string())),
                "blob": [b"x" * 40, b"\x00"],
                "ok": [True, False],
            }
        )
    )
    assert backend.get_row_at(0) == [
        "first line…⏎",
        "2026-01-02",
        "1:01:00",
        "['a', 'b']",
        repr(b"x" * 32) + " (+8 bytes)",
        "true",
    ]
    assert backend.get_row_at(1) == [None, None, None, "[]", repr(b"\x00"), "false"]


class KindsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ArrowTable(
            pa.table(
                {
                    "long_day_label": pa.array([date(2026, 1, 2), None], pa.date32()),
                    "text": ["x" * (SHOWN_CELL_CHARS + 10), "short"],
                }
            )
        )


async def test_dates_lean_right_nulls_sit_centred_and_long_text_is_cut() -> None:
    app = KindsApp()
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        table = app.query_one(ArrowTable)
        header, first, second, *_ = screen_text(table).splitlines()
        assert header.startswith(" long_day_label  text ")
        assert first.startswith("     2026-01-02  " + "x" * (SHOWN_CELL_CHARS - 1) + "… ")
        assert second.startswith(f"       {NULL_CELL}         short ")


async def test_the_header_stays_while_rows_scroll_and_a_click_moves_the_cursor() -> None:
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(ArrowTable)
        table.focus()
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        header, first_shown, *_ = screen_text(table).splitlines()
        assert header.split() == ["id", "price", "ratio", "name"]
        assert table.scroll_offset.y > 0 and first_shown.split()[0] == str(table.scroll_offset.y)
        row = table.scroll_offset.y + 2
        name_x = header.index(" name ") + 2
        await pilot.click(ArrowTable, offset=(name_x, 3))  # the third row shown, its name
        assert table.cursor_coordinate == Coordinate(row, 3)


async def test_a_row_cursor_says_where_it_went_and_left_right_scroll_sideways() -> None:
    wide = pa.table({f"column_{n}": [f"value {n}"] * 5 for n in range(20)})
    moved: list[Coordinate] = []

    class RowsApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ArrowTable(wide, cursor_type="row")

        def on_arrow_table_highlighted(self, event: ArrowTable.Highlighted) -> None:
            moved.append(event.coordinate)

    app = RowsApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(ArrowTable)
        table.focus()
        await pilot.press("down", "down", "right", "right")
        await pilot.pause()
        assert moved == [Coordinate(1, 0), Coordinate(2, 0)]
        assert table.scroll_x > 0 and table.cursor_coordinate == Coordinate(2, 0)
        await pilot.press("end")
        await pilot.pause()
        assert table.scroll_x == table.max_scroll_x > 0
