"""The per-column statistics of a table, one row per column: moving the cursor selects the column
whose distribution and sample rows show beside it.

Importing this module loads pyarrow: import it when statistics are first shown."""

from __future__ import annotations

import pyarrow as pa
from textual import on
from textual.message import Message

from casparian_core.api import ColumnStats
from casparian_tui.widgets.arrow_table import ArrowTable

TOP_VALUE_CHARS = 16  # each top value is cut to this: five of them share one cell
MIN_MAX_CHARS = 24  # a long min or max (a hash, a sentence) leaves room for the top values


class ColumnStatsTable(ArrowTable):
    """Column, type, null %, distinct, min, max, top values; a row cursor."""

    class Moved(Message):
        """The cursor is on another column (or on the first, once shown)."""

        def __init__(self, table: ColumnStatsTable) -> None:
            super().__init__()
            self.table = table

    def __init__(self, stats: list[ColumnStats], *, id: str | None = None) -> None:
        super().__init__(stats_table(stats), cursor_type="row", id=id)
        self.stats = stats

    @property
    def selected(self) -> ColumnStats | None:
        if not self.stats:
            return None
        return self.stats[min(self.cursor_row, len(self.stats) - 1)]

    @on(ArrowTable.Highlighted)
    def _moved(self, event: ArrowTable.Highlighted) -> None:
        event.stop()
        self.post_message(self.Moved(self))


def stats_table(stats: list[ColumnStats]) -> pa.Table:
    return pa.table(
        {
            "column": [s.name for s in stats],
            "type": [s.type for s in stats],
            "null %": pa.array([f"{s.null_pct:.1f}".rjust(5) for s in stats], pa.string()),
            "distinct ≈": pa.array([s.distinct for s in stats], pa.int64()),
            "min": [_cut(s.min, MIN_MAX_CHARS) for s in stats],
            "max": [_cut(s.max, MIN_MAX_CHARS) for s in stats],
            "top values": [top_values_text(s) for s in stats],
        },
        schema=pa.schema(
            [
                ("column", pa.string()),
                ("type", pa.string()),
                ("null %", pa.string()),
                ("distinct ≈", pa.int64()),
                ("min", pa.string()),
                ("max", pa.string()),
                ("top values", pa.string()),
            ]
        ),
    )


def top_values_text(stats: ColumnStats) -> str:
    if not stats.top_values:
        return "(nearly all distinct)" if stats.distinct else ""
    return " · ".join(
        f"{_cut(value, TOP_VALUE_CHARS)} ({count:,})" for value, count in stats.top_values
    )


def _cut(text: str | None, width: int) -> str | None:
    if text is None or len(text) <= width:
        return text
    return text[: width - 1] + "…"
