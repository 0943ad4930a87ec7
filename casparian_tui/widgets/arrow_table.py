"""A read-only table of an Arrow table's rows (textual-fastdatatable): every column as wide as
its widest value seen (up to a limit for text), scrolled sideways when the columns do not fit.

The widget formats floats to six significant digits (1234567.891 shows as 1.23457e+06) and times
to the millisecond, so values are handed to it as the text Arrow writes for them, which is
exact: a float's shortest text that reads back as the same float, every digit of a decimal,
every fraction of a second. Numbers are padded on the left so they line up on the right.

Rows become text a block at a time, when they are first drawn (`DisplayBackend`): a 100,000-row
result costs its first screen, not 100,000 conversions. Column widths come from the first and
last blocks (and, for integers and decimals, exactly from the column's minimum and maximum);
a wider value met later, on scrolling, widens its column then.

Importing this module loads pyarrow (~0.15 s): import it when a table is first shown, not at
start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from textual.binding import Binding, BindingType
from textual_fastdatatable import ArrowBackend
from textual_fastdatatable import DataTable as FastDataTable

from casparian_core.api import NULL_CELL, SHOWN_CELL_CHARS

BLOCK_ROWS = 256
"""Rows converted to text at a time: a screenful or more, so one scroll step rarely converts."""


class DisplayBackend(ArrowBackend):
    """`table` as the widget shows it, each block of rows converted on first use.

    `converted_rows` counts the rows converted so far (what a screen costs, as a test sees it);
    `on_wider` is called when a block held a value wider than its column.
    """

    def __init__(self, table: pa.Table) -> None:
        super().__init__(table)
        self.converted_rows = 0
        self.on_wider: Callable[[], None] | None = None
        self._blocks: dict[int, ArrowBackend] = {}
        self._numbers = [_is_number(column.type) for column in self.data.columns]

    @property
    def column_content_widths(self) -> list[int]:
        if not self._column_content_widths:
            widths = [_exact_width(column) for column in self.data.columns]
            last = max(self.row_count - 1, 0) // BLOCK_ROWS
            for block in {0, last}:
                widths = _widest(widths, self._block(block).column_content_widths)
            self._column_content_widths = widths
        return self._column_content_widths

    def get_row_at(self, index: int) -> Sequence[Any]:
        block = self._block_of(index)
        row = block.get_row_at(index % BLOCK_ROWS)
        return [self._padded(column, value) for column, value in enumerate(row)]

    def get_cell_at(self, row_index: int, column_index: int) -> Any:
        if row_index < 0:
            row_index += self.row_count
        block = self._block_of(row_index)
        return self._padded(column_index, block.get_cell_at(row_index % BLOCK_ROWS, column_index))

    def get_column_at(self, column_index: int) -> list[Any]:
        return [self.get_cell_at(row, column_index) for row in range(self.row_count)]

    def _padded(self, column: int, value: Any) -> Any:
        if self._numbers[column] and isinstance(value, str):
            return value.rjust(self.column_content_widths[column])
        return value

    def _block_of(self, row_index: int) -> ArrowBackend:
        if not 0 <= row_index < self.row_count:
            raise IndexError(f"Row {row_index} of {self.row_count} does not exist")
        widths = self.column_content_widths  # settled on the sample before any block widens it
        number = row_index // BLOCK_ROWS
        if number in self._blocks:
            return self._blocks[number]
        block = self._block(number)
        wider = _widest(widths, block.column_content_widths)
        if wider != widths:
            self._column_content_widths = wider
            if self.on_wider is not None:
                self.on_wider()
        return block

    def _block(self, number: int) -> ArrowBackend:
        block = self._blocks.get(number)
        if block is None:
            rows = self.data.slice(number * BLOCK_ROWS, BLOCK_ROWS)
            block = ArrowBackend(display_table(rows))
            block.render_markup = self.render_markup
            self.converted_rows += rows.num_rows
            self._blocks[number] = block
        return block


class ArrowTable(FastDataTable, inherit_bindings=False):
    """Arrow rows, one line each; arrows move the cursor (and scroll), Home/End jump to the first
    and last column, Ctrl+Home/Ctrl+End to the first and last row.

    Its own keys only: the widget's Tab (next cell) would trap focus in the table, and its
    Ctrl+c copies, where the app's Ctrl+c quits.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("left", "cursor_left", "Left", show=False),
        Binding("right", "cursor_right", "Right", show=False),
        Binding("home", "cursor_row_start", "First column", show=False),
        Binding("end", "cursor_row_end", "Last column", show=False),
        Binding("ctrl+home", "cursor_table_start", "First row", show=False),
        Binding("ctrl+end", "cursor_table_end", "Last row", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]

    def __init__(
        self, table: pa.Table, *, id: str | None = None, classes: str | None = None
    ) -> None:
        backend = DisplayBackend(table)
        super().__init__(
            backend=backend,
            # Cuts only text: no Arrow number is wider (a decimal128 has at most 38 digits).
            max_column_content_width=SHOWN_CELL_CHARS,
            null_rep=NULL_CELL,
            render_markup=False,  # a value is data: "[b]" is shown as written
            cursor_type="cell",
            zebra_stripes=True,
            id=id,
            classes=classes,
        )
        # A block met while drawing may widen a column: measured again after this frame.
        backend.on_wider = self._widen_after_refresh

    def _widen_after_refresh(self) -> None:
        self.call_after_refresh(self._widen)

    def _widen(self) -> None:
        self._ordered_columns = None
        self._clear_caches()
        self._require_update_dimensions = True
        self.refresh()


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


def _widest(widths: list[int], others: Sequence[int]) -> list[int]:
    return [max(width, other) for width, other in zip(widths, others, strict=True)]
