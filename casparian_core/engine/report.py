"""Pieces of a run's report that every face shows the same way: `casparian run` prints them,
Parser Bench renders them. Rich is imported inside the functions (CLI start-up stays light)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from casparian_core.units import format_bytes, plural

if TYPE_CHECKING:
    import pyarrow as pa
    from rich.table import Table

    from casparian_core.engine.results import OutputResult, RunResult

TOP_REASONS = 3
SHOWN_CELL_CHARS = 40
# Below this an input's bytes/s and rows/s measure the guest's start, not the parser.
RATE_MIN_BYTES = 1_000_000
NULL_CELL = "∅"


def top_reasons(output: OutputResult, limit: int = TOP_REASONS) -> str:
    """The most frequent quarantine reasons with their row counts, e.g. "amount: min (3)"."""
    return ", ".join(f"{reason} ({count:,})" for reason, count in output.reasons.most_common(limit))


def rates(result: RunResult) -> str:
    """Input bytes (1000-based) and rows (valid and quarantined) per second."""
    seconds = max(result.duration_s, 1e-9)
    rows = result.rows + result.quarantined
    return f"{format_bytes(result.input_bytes / seconds)}/s, {rows / seconds:,.0f} rows/s"


def preview_table(preview: pa.Table) -> Table:
    """The first rows of an output as a table, one line per row; nulls shown as ∅, long or
    crowded cells cut with an ellipsis."""
    from rich.table import Table

    title = f"first {plural(preview.num_rows, 'row')}"
    table = Table(title=title, title_justify="left", min_width=len(title))  # title on one line
    for name in preview.column_names:
        table.add_column(name, overflow="ellipsis", max_width=SHOWN_CELL_CHARS, no_wrap=True)
    for row in preview.to_pylist():
        table.add_row(*(NULL_CELL if value is None else str(value) for value in row.values()))
    return table
