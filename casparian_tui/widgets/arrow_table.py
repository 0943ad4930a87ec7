"""A read-only table of an Arrow table's rows (textual-fastdatatable): every column as wide as
its widest value (up to a limit for text), scrolled sideways when the columns do not fit.

The widget formats floats to six significant digits (1234567.891 shows as 1.23457e+06) and times
to the millisecond, so values are handed to it as the text Arrow writes for them, which is
exact: a float's shortest text that reads back as the same float, every digit of a decimal,
every fraction of a second. Numbers are padded on the left so they line up on the right.

Importing this module loads pyarrow (~0.15 s): import it when a table is first shown, not at
start-up.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from textual.binding import Binding, BindingType
from textual_fastdatatable import ArrowBackend
from textual_fastdatatable import DataTable as FastDataTable

from casparian_core.api import NULL_CELL, SHOWN_CELL_CHARS


class ArrowTable(FastDataTable, inherit_bindings=False):
    """Arrow rows, one line each; arrows move the cursor (and scroll), Home/End jump.

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
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]

    def __init__(
        self, table: pa.Table, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(
            backend=ArrowBackend(display_table(table)),
            # Cuts only text: no Arrow number is wider (a decimal128 has at most 38 digits).
            max_column_content_width=SHOWN_CELL_CHARS,
            null_rep=NULL_CELL,
            render_markup=False,  # a value is data: "[b]" is shown as written
            cursor_type="cell",
            zebra_stripes=True,
            id=id,
            classes=classes,
        )


def display_table(table: pa.Table) -> pa.Table:
    """`table` with each number, time and boolean column as its exact text."""
    return pa.table([_display_column(column) for column in table.columns], names=table.column_names)


def _display_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        text = pc.cast(column, pa.string())
        widest = pc.max(pc.utf8_length(text)).as_py() or 0
        return pc.utf8_lpad(text, width=widest, padding=" ")
    if pa.types.is_boolean(kind) or pa.types.is_timestamp(kind) or pa.types.is_time(kind):
        return pc.cast(column, pa.string())
    return column  # text, dates and durations show whole; lists and structs as written
