"""The quarantined rows of a table with their reasons: which column broke which rule, and where
the row came from (file and row number), the job and parser version that produced it. Under
them, the row under the cursor in full: its whole reason and its values as the parser produced
them (the screen fetches those)."""

from __future__ import annotations

from pathlib import PurePath

import pyarrow as pa
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from casparian_core.api import QuarantineEntry, QuarantinePage, QuarantineRow
from casparian_tui.widgets.arrow_table import ArrowTable

JOB_ID_CHARS = 8  # enough to tell jobs apart on screen; `casparian quarantine show` has it all


class QuarantineView(Vertical):
    class Moved(Message):
        """The cursor is on another quarantined row: the screen fetches its values."""

        def __init__(self, entry: QuarantineEntry) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[QuarantineEntry] = []
        self._shown_row = -1

    def compose(self) -> ComposeResult:
        yield Static("", id="quarantine-title")
        yield Vertical(id="quarantine-rows")
        with VerticalScroll(id="quarantine-detail"):
            yield Static("", id="quarantine-row")

    async def show(self, table: str, page: QuarantinePage) -> None:
        title = Text.assemble(("Quarantined rows", "bold"), f" of {table}: ")
        if not page.total:
            title.append("none. Every row passed its contract.", style="green")
        else:
            title.append(f"{page.total:,}", style="yellow")
            if page.truncated:
                title.append(f" (the first {len(page.entries):,} shown)")
            title.append("  ·  Esc back", style="dim")
        self.query_one("#quarantine-title", Static).update(title)
        holder = self.query_one("#quarantine-rows", Vertical)
        await holder.remove_children()
        self.entries, self._shown_row = page.entries, -1
        if page.entries:
            await holder.mount(ArrowTable(quarantine_table(page), classes="quarantine-table"))
            self.post_message(self.Moved(page.entries[0]))

    @on(ArrowTable.Highlighted)
    def _moved(self, event: ArrowTable.Highlighted) -> None:
        event.stop()
        row = event.coordinate.row
        if row != self._shown_row and 0 <= row < len(self.entries):
            self._shown_row = row
            self.post_message(self.Moved(self.entries[row]))

    def show_row(self, row: QuarantineRow | Text) -> None:
        self.query_one("#quarantine-row", Static).update(
            row if isinstance(row, Text) else row_text(row)
        )


def row_text(row: QuarantineRow) -> Text:
    """The whole reason, then each value of the row as the parser produced it."""
    entry = row.entry
    text = Text.assemble(("Why: ", "bold"), (entry.reason, "yellow"))
    where = entry.source_file or "an unknown file"
    if entry.row_number is not None:
        where += f", row {entry.row_number:,}"
    text.append(f"\nFrom: {where}", style="dim")
    if row.values:
        width = max(len(name) for name in row.values)
        for name, value in row.values.items():
            style = "bold yellow" if name == entry.column else ""
            text.append(f"\n{name.ljust(width)}  ", style=style or "dim")
            text.append(value, style=style)
    return text


def quarantine_table(page: QuarantinePage) -> pa.Table:
    entries = page.entries
    return pa.table(
        {
            "reason": [e.reason for e in entries],
            "column": [e.column for e in entries],
            "rule": [e.rule for e in entries],
            # The file's name: the full path is in `casparian quarantine show`.
            "file": [PurePath(e.source_file).name if e.source_file else None for e in entries],
            "row": pa.array([e.row_number for e in entries], pa.int64()),
            "parser": [e.parser for e in entries],
            "job": [e.job_id[:JOB_ID_CHARS] if e.job_id else None for e in entries],
            "resolved by": [e.resolved_version for e in entries],
        }
    )
