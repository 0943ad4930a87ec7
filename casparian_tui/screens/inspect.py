"""Inspect: the output tables. Until the table browser lands, it lists the tables that exist
(as the Home Hub counts them) and says what it will show, so the two screens never disagree."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Center, Middle, VerticalScroll
from textual.widgets import Static

from casparian_core.api import OutputTable, Stats
from casparian_tui.screens.base import EmptyState, ModeScreen

NO_TABLES = (
    "[b]No output tables yet[/b]\n\n"
    "Tables appear here once a parser has written rows to the home's output/ folder."
)
COMING = (
    "Column statistics, SQL queries, filters and export come to this screen next. "
    "Until then, Parser Bench shows a test's first rows, and any Parquet reader opens these "
    "folders."
)


class InspectScreen(ModeScreen):
    MODE = "inspect"

    def compose_body(self) -> ComposeResult:
        with Middle(id="inspect-empty"), Center():
            yield EmptyState(NO_TABLES, classes="empty-state")
        with VerticalScroll(id="inspect-body"):
            yield Static("", id="inspect-tables")

    def on_mount(self) -> None:
        self._show_tables(False)
        self.watch(self.app, "stats", self._on_stats)

    def _show_tables(self, shown: bool) -> None:
        self.query_one("#inspect-empty").display = not shown
        self.query_one("#inspect-body").display = shown

    def _on_stats(self, stats: Stats | None) -> None:
        if stats is not None:
            self.load_tables()

    @work(exclusive=True, group="inspect-tables", exit_on_error=False)
    async def load_tables(self) -> None:
        tables = await self.app.service.output_tables()
        self._show_tables(bool(tables))
        if not tables:
            return
        self.query_one("#inspect-tables", Static).update(
            Group(
                Text.assemble(("Output tables", "bold"), " in the home's output/ folder\n"),
                tables_table(tables),
                Text(f"\n{COMING}", style="dim"),
            )
        )


def tables_table(tables: list[OutputTable]) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
    table.add_column("table", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("files", justify="right", no_wrap=True)
    for output in tables:
        style = "yellow" if output.is_quarantine else ""
        table.add_row(
            Text(output.name, style=style),
            f"{output.rows:,}",
            f"{output.parts:,}",
        )
    return table
