"""Keeping a DataTable's cursor on the same item when its rows are reloaded."""

from __future__ import annotations

from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist, RowKey


def current_key(table: DataTable) -> str | None:
    """The key of the row under the cursor, or None on an empty table."""
    if not table.row_count:
        return None
    key: RowKey = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    return key.value


def restore_cursor(table: DataTable, key: str | None, fallback_row: int) -> None:
    """Put the cursor on the row keyed `key`, wherever the reload moved it; when that row is
    gone, on `fallback_row` (clamped), so a deletion leaves the cursor near where it was."""
    if not table.row_count:
        return
    try:
        row = table.get_row_index(key) if key is not None else fallback_row
    except RowDoesNotExist:
        row = fallback_row
    table.move_cursor(row=min(row, table.row_count - 1))
