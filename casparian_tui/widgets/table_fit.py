"""Fitting a DataTable's one flexible column (a path) into the width the others leave.

Columns get explicit widths (each as wide as its label or widest cell): an auto-width column is
measured only when the table next idles, so a table rebuilt on a resize could be painted, for
a moment, with every column as narrow as its label.
"""

from __future__ import annotations

import sys

from rich.cells import cell_len
from textual.widgets import DataTable


def column_widths(labels: list[str], rows: list[list[str]]) -> list[int]:
    return [
        max([cell_len(label), *(cell_len(row[i]) for row in rows)])
        for i, label in enumerate(labels)
    ]


def room_for(table: DataTable, widths: list[int], rows: int, flexible: int) -> int:
    """The width the other columns (`widths`) leave for column `flexible`, a vertical
    scrollbar counted when the `rows` overflow the table."""
    others = sum(width + 2 * table.cell_padding for i, width in enumerate(widths) if i != flexible)
    width = table.content_region.width
    if rows > _shown_rows(table):  # a vertical scrollbar
        width -= table.styles.scrollbar_size_vertical
    return width - others - 2 * table.cell_padding


def _shown_rows(table: DataTable) -> int:
    """How many rows fit below the header: a table of `height: auto` grows up to its
    max-height (in cells), any other has its height now."""
    height, max_height = table.styles.height, table.styles.max_height
    if height is not None and height.is_auto:
        if max_height is None or not max_height.is_cells:
            return sys.maxsize  # it grows with its rows
        return int(max_height.value) - 1
    return table.content_region.height - 1
