"""The quarantined rows of a table with their reasons: which column broke which rule, and where
the row came from (file and row number), the job and parser version that produced it."""

from __future__ import annotations

from pathlib import PurePath

import pyarrow as pa
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from casparian_core.api import QuarantinePage
from casparian_tui.widgets.arrow_table import ArrowTable

JOB_ID_CHARS = 8  # enough to tell jobs apart on screen; `casparian quarantine show` has it all


class QuarantineView(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("", id="quarantine-title")
        yield Vertical(id="quarantine-rows")

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
        if page.entries:
            await holder.mount(ArrowTable(quarantine_table(page), classes="quarantine-table"))


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
