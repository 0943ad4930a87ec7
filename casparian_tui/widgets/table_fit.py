"""Fitting a DataTable's one flexible column (a path) into the width the others leave."""

from __future__ import annotations

import sys

from textual.widgets import DataTable


def room_for(table: DataTable, labels: list[str], rows: list[list[str]], flexible: int) -> int:
    """The width the other columns leave for column `flexible`: each other column as wide as
    its label or widest cell, a vertical scrollbar counted when the rows overflow the table."""
    others = sum(
        max([len(labels[i]), *(len(row[i]) for row in rows)]) + 2 * table.cell_padding
        for i in range(len(labels))
        if i != flexible
    )
    width = table.content_region.width
    if len(rows) > _shown_rows(table):  # a vertical scrollbar
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
