"""A read-only table of an Arrow table's rows: every column as wide as its widest value seen (up
to a limit for text), scrolled sideways when the columns do not fit.

Values are shown as the text Arrow writes for them, which is exact: a float's shortest text
that reads back as the same float, every digit of a decimal, every fraction of a second.
Numbers are padded on the left so they line up on the right.

Rows become text a block at a time, when they are first drawn (`DisplayBackend`): a 100,000-row
result costs its first screen, not 100,000 conversions. Column widths come from the first and
last blocks (and, for integers and decimals, exactly from the column's minimum and maximum);
a wider value met later, on scrolling, widens its column then.

The table is a line-API scroll view, like Discover's FileTable: only the lines on screen are
drawn, each one Strip of the cells' text. A DataTable (textual-fastdatatable, before) rendered
every visible cell through Rich, ~0.12 s of Inspect's first frame.

Importing this module loads pyarrow (~0.15 s): import it when a table is first shown, not at
start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import ClassVar, Literal

import pyarrow as pa
import pyarrow.compute as pc
from rich.cells import cell_len, set_cell_size
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.coordinate import Coordinate
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from casparian_core.api import NULL_CELL, SHOWN_CELL_CHARS

BLOCK_ROWS = 256
"""Rows converted to text at a time: a screenful or more, so one scroll step rarely converts."""
BINARY_PREVIEW_BYTES = 32  # a binary value shows this much of itself, then how much more
MORE_LINES = "…⏎"  # ends a value whose first line alone is shown
CELL_PADDING = 1  # blank cells each side of a column
HEADER_LINES = 1

CursorType = Literal["cell", "row"]
Cell = str | None  # a value's text; None is a null


class DisplayBackend:
    """`table` as the table shows it, each block of rows converted to text on first use.

    `converted_rows` counts the rows converted so far (what a screen costs, as a test sees it);
    `on_wider` is called when a block held a value wider than its column.
    """

    def __init__(self, table: pa.Table) -> None:
        self.data = table
        self.columns: list[str] = table.column_names
        self.row_count = table.num_rows
        self.converted_rows = 0
        self.on_wider: Callable[[], None] | None = None
        self._blocks: dict[int, list[list[Cell]]] = {}  # each block's columns of text
        self._widths: list[int] | None = None
        self._numbers = [_is_number(column.type) for column in table.columns]
        # Dates and durations line up on the right of their column, as padded numbers do.
        self.aligned_right = [
            pa.types.is_date(c.type) or pa.types.is_duration(c.type) for c in table.columns
        ]

    @property
    def column_content_widths(self) -> list[int]:
        if self._widths is None:
            widths = [_exact_width(column) for column in self.data.columns]
            last = max(self.row_count - 1, 0) // BLOCK_ROWS
            for block in {0, last}:
                widths = _widest(widths, _block_widths(self._block(block)))
            self._widths = widths
        return self._widths

    def get_row_at(self, index: int) -> list[Cell]:
        block = self._block_of(index)
        offset = index % BLOCK_ROWS
        return [self._padded(i, column[offset]) for i, column in enumerate(block)]

    def get_cell_at(self, row_index: int, column_index: int) -> Cell:
        if row_index < 0:
            row_index += self.row_count
        block = self._block_of(row_index)
        return self._padded(column_index, block[column_index][row_index % BLOCK_ROWS])

    def _padded(self, column: int, value: Cell) -> Cell:
        if self._numbers[column] and value is not None:
            return value.rjust(self.column_content_widths[column])
        return value

    def _block_of(self, row_index: int) -> list[list[Cell]]:
        if not 0 <= row_index < self.row_count:
            raise IndexError(f"Row {row_index} of {self.row_count} does not exist")
        widths = self.column_content_widths  # settled on the sample before any block widens it
        number = row_index // BLOCK_ROWS
        if number in self._blocks:
            return self._blocks[number]
        block = self._block(number)
        wider = _widest(widths, _block_widths(block))
        if wider != widths:
            self._widths = wider
            if self.on_wider is not None:
                self.on_wider()
        return block

    def _block(self, number: int) -> list[list[Cell]]:
        block = self._blocks.get(number)
        if block is None:
            rows = display_table(self.data.slice(number * BLOCK_ROWS, BLOCK_ROWS))
            block = [[_text(value) for value in column.to_pylist()] for column in rows.columns]
            self.converted_rows += rows.num_rows
            self._blocks[number] = block
        return block


class ArrowTable(ScrollView, can_focus=True):
    """Arrow rows, one line each, under a header that stays; arrows move the cursor (and
    scroll), Home/End jump to the first and last column, Ctrl+Home/Ctrl+End to the first and
    the last row. With a row cursor Left/Right and Home/End scroll sideways."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("left", "cursor_left", "Left", show=False),
        Binding("right", "cursor_right", "Right", show=False),
        Binding("home", "cursor_row_start", "First column", show=False),
        Binding("end", "cursor_row_end", "Last column", show=False),
        Binding("ctrl+home", "cursor_table_start", "First row", show=False),
        Binding("ctrl+end", "cursor_table_end", "Last row", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "arrow-table--header",
        "arrow-table--even-row",
        "arrow-table--cursor",
    }
    # textual-fastdatatable's look: the header on $primary, zebra stripes, the cursor.
    DEFAULT_CSS = """
    ArrowTable {
        background: $surface;
        color: $text;
        height: auto;
        max-height: 100vh;
        & > .arrow-table--header { text-style: bold; background: $primary; color: $text; }
        & > .arrow-table--even-row { background: $primary 10%; }
        &:dark > .arrow-table--even-row { background: $primary 15%; }
        & > .arrow-table--cursor { background: $secondary; color: $text; }
    }
    """

    class Highlighted(Message):
        """The cursor moved to `coordinate`."""

        def __init__(self, table: ArrowTable, coordinate: Coordinate) -> None:
            super().__init__()
            self.table = table
            self.coordinate = coordinate

        @property
        def control(self) -> ArrowTable:
            return self.table

    def __init__(
        self,
        table: pa.Table,
        *,
        cursor_type: CursorType = "cell",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.backend = DisplayBackend(table)
        self.cursor_type = cursor_type
        self.cursor_coordinate = Coordinate(0, 0)
        self._widths: list[int] | None = None  # each column's text width, as shown
        self._column_marks = [Style.from_meta({"column": i}) for i in range(self.column_count)]
        # A block met while drawing may widen a column: measured again after this frame.
        self.backend.on_wider = self._widen_after_refresh
        self._size_to_columns()

    # Reading.

    @property
    def row_count(self) -> int:
        return self.backend.row_count

    @property
    def column_count(self) -> int:
        return len(self.backend.columns)

    @property
    def cursor_row(self) -> int:
        return self.cursor_coordinate.row

    @property
    def column_widths(self) -> list[int]:
        """Each column's width as shown, without its padding: its label's or its widest
        value's, text cut at SHOWN_CELL_CHARS (no Arrow number is wider)."""
        if self._widths is None:
            labels = [cell_len(label) for label in self.backend.columns]
            content = self.backend.column_content_widths
            self._widths = [
                min(max(label, width), SHOWN_CELL_CHARS)
                for label, width in zip(labels, content, strict=True)
            ]
        return self._widths

    def get_row_at(self, index: int) -> list[Cell]:
        return self.backend.get_row_at(index)

    def get_cell_at(self, coordinate: Coordinate) -> Cell:
        return self.backend.get_cell_at(coordinate.row, coordinate.column)

    # Drawing.

    def render_line(self, y: int) -> Strip:
        width, scroll_x = self.scrollable_content_region.width, self.scroll_offset.x
        if y < HEADER_LINES:
            style = self._style("arrow-table--header")
            line = self._line(list(self.backend.columns), style, None)
        else:
            index = self.scroll_offset.y + y - HEADER_LINES
            if index >= self.row_count:
                return Strip.blank(width, self.rich_style)
            style = self._row_style(index)
            line = self._line(self.get_row_at(index), style, self._cursor_column(index))
        # Past the last column the row's look runs on, faded, to the pane's edge.
        fill = Style(bgcolor=self._faded(style), color=style.color)
        return line.crop_extend(scroll_x, scroll_x + width, fill)

    def _line(self, cells: Sequence[Cell], style: Style, cursor_at: int | None) -> Strip:
        """One segment per cell, each marked with its column (a screenshot then places each
        cell where it belongs, as it did a DataTable's)."""
        segments = []
        for column, (cell, width) in enumerate(zip(cells, self.column_widths, strict=True)):
            text = " " * CELL_PADDING + self._fitted(column, cell, width) + " " * CELL_PADDING
            cell_style = style + self._cursor_style() if column == cursor_at else style
            segments.append(Segment(text, cell_style + self._column_marks[column]))
        return Strip(segments, sum(w + 2 * CELL_PADDING for w in self.column_widths))

    def _fitted(self, column: int, cell: Cell, width: int) -> str:
        """`cell` in `width` cells: cut with an ellipsis, a null centred, else padded."""
        if cell is None:
            return NULL_CELL.center(width)
        if cell_len(cell) > width:
            return set_cell_size(cell, width - 1) + "…"
        if self.backend.aligned_right[column]:
            return " " * (width - cell_len(cell)) + cell
        return cell + " " * (width - cell_len(cell))

    def _cursor_column(self, index: int) -> int | None:
        """Which cell of row `index` the cursor covers (-1: all of them)."""
        if index != self.cursor_row:
            return None
        return self.cursor_coordinate.column if self.cursor_type == "cell" else -1

    def _row_style(self, index: int) -> Style:
        style = self.rich_style
        if index % 2 == 0:
            style += self.get_component_rich_style("arrow-table--even-row")
        if self._cursor_column(index) == -1:
            style += self._cursor_style()
        return style

    def _cursor_style(self) -> Style:
        return self.get_component_rich_style("arrow-table--cursor")

    def _style(self, name: str) -> Style:
        return self.rich_style + self.get_component_rich_style(name)

    def _faded(self, style: Style) -> RichColor | None:
        if style.bgcolor is None:
            return None
        background = self.background_colors[1]
        return Color.from_rich_color(style.bgcolor).blend(background, 0.25).rich_color

    def _size_to_columns(self) -> None:
        width = sum(w + 2 * CELL_PADDING for w in self.column_widths)
        self.virtual_size = Size(width, self.row_count + HEADER_LINES)

    def _widen_after_refresh(self) -> None:
        self.call_after_refresh(self._widen)

    def _widen(self) -> None:
        self._widths = None
        self._size_to_columns()
        self.refresh()

    # The cursor.

    def move_cursor(
        self, *, row: int | None = None, column: int | None = None, animate: bool = False
    ) -> None:
        """Put the cursor on `row` and `column` (either kept when None), in view."""
        del animate  # the table scrolls at once: kept for DataTable's signature
        at = self.cursor_coordinate
        self._set_cursor(at.row if row is None else row, at.column if column is None else column)

    def action_cursor_up(self) -> None:
        self._set_cursor(self.cursor_row - 1, self.cursor_coordinate.column)

    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor_row + 1, self.cursor_coordinate.column)

    def action_cursor_left(self) -> None:
        if self.cursor_type == "row":
            self.scroll_left(animate=False)
        else:
            self._set_cursor(self.cursor_row, self.cursor_coordinate.column - 1)

    def action_cursor_right(self) -> None:
        if self.cursor_type == "row":
            self.scroll_right(animate=False)
        else:
            self._set_cursor(self.cursor_row, self.cursor_coordinate.column + 1)

    def action_cursor_row_start(self) -> None:
        if self.cursor_type == "row":
            self.scroll_to(x=0, animate=False)
        else:
            self._set_cursor(self.cursor_row, 0)

    def action_cursor_row_end(self) -> None:
        if self.cursor_type == "row":
            self.scroll_to(x=self.max_scroll_x, animate=False)
        else:
            self._set_cursor(self.cursor_row, self.column_count - 1)

    def action_cursor_table_start(self) -> None:
        self._set_cursor(0, 0)

    def action_cursor_table_end(self) -> None:
        self._set_cursor(self.row_count - 1, self.column_count - 1)

    def action_page(self, direction: int) -> None:
        """A page is the rows the pane shows, the cursor's row the first or last of them."""
        rows_shown = max(1, self.scrollable_content_region.height - HEADER_LINES)
        row = self.cursor_row + direction * (rows_shown - 1)
        self._set_cursor(row, self.cursor_coordinate.column)

    def on_click(self, event: Click) -> None:
        row = self.scroll_offset.y + event.y - HEADER_LINES
        if event.y < HEADER_LINES or row >= self.row_count:  # the header, or below the rows
            return
        x, column = self.scroll_offset.x + event.x, 0
        for column, width in enumerate(self.column_widths):  # noqa: B007
            x -= width + 2 * CELL_PADDING
            if x < 0:
                break
        self._set_cursor(row, column)

    def _set_cursor(self, row: int, column: int) -> None:
        if not self.row_count:
            return
        row = max(0, min(row, self.row_count - 1))
        column = max(0, min(column, self.column_count - 1))
        previous, self.cursor_coordinate = self.cursor_coordinate, Coordinate(row, column)
        self._show_cursor()
        if previous == self.cursor_coordinate:
            return
        self.refresh_line(previous.row + HEADER_LINES)
        self.refresh_line(row + HEADER_LINES)
        self.post_message(self.Highlighted(self, self.cursor_coordinate))

    def _show_cursor(self) -> None:
        """Scroll so the cursor's row is below the header and on screen, and its cell too."""
        region = self.scrollable_content_region
        rows_shown = max(1, region.height - HEADER_LINES)
        top, left = self.scroll_offset.y, self.scroll_offset.x
        row = self.cursor_row
        if row < top:
            top = row
        elif row >= top + rows_shown:
            top = row - rows_shown + 1
        if self.cursor_type == "cell":
            widths = [w + 2 * CELL_PADDING for w in self.column_widths]
            start = sum(widths[: self.cursor_coordinate.column])
            end = start + widths[self.cursor_coordinate.column]
            if start < left:
                left = start
            elif end > left + region.width:
                left = min(start, end - region.width)
        if (left, top) != (self.scroll_offset.x, self.scroll_offset.y):
            self.scroll_to(x=left, y=top, animate=False, immediate=True)


def display_table(table: pa.Table) -> pa.Table:
    """`table` with each number, time and boolean column as its exact text (numbers unpadded)."""
    return pa.table([_display_column(column) for column in table.columns], names=table.column_names)


def _display_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if _is_number(kind) or pa.types.is_boolean(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_timestamp(kind) or pa.types.is_time(kind):
        return pc.cast(column, pa.string())
    return column  # text, dates and durations show whole; lists and structs as written


def _text(value: object) -> Cell:
    """A value of a display table as one line of text."""
    if value is None:
        return None
    if isinstance(value, str):
        first, newline, _ = value.replace("\r", "\n").partition("\n")
        return first + MORE_LINES if newline else first
    if isinstance(value, bytes):
        shown = repr(value[:BINARY_PREVIEW_BYTES])
        more = len(value) - BINARY_PREVIEW_BYTES
        return f"{shown} (+{more} bytes)" if more > 0 else shown
    if isinstance(value, date):
        return value.isoformat()
    return str(value)  # a duration as 1:02:03, a list or a struct as Python writes it


def _is_number(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)


def _exact_width(column: pa.ChunkedArray) -> int:
    """An integer's or decimal's widest text, from its extremes (no pass over every row's text:
    the longest text of these is the smallest or largest value); 0 for any other column."""
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not (pa.types.is_integer(kind) or pa.types.is_decimal(kind)):
        return 0
    if pa.types.is_dictionary(column.type):
        column = column.cast(kind)
    extremes = pc.min_max(column)
    texts = [extremes[end].cast(pa.string()).as_py() for end in ("min", "max")]
    return max((len(text) for text in texts if text is not None), default=0)


def _block_widths(block: list[list[Cell]]) -> list[int]:
    return [max((cell_len(c) for c in column if c is not None), default=0) for column in block]


def _widest(widths: list[int], others: Sequence[int]) -> list[int]:
    return [max(width, other) for width, other in zip(widths, others, strict=True)]
