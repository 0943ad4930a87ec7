"""Inspect: the output tables, read-only, through `service.inspect` (DuckDB over the outputs).

The table list (j/k) on the left; Enter computes the highlighted table's column statistics,
and the column under the cursor shows its distribution and the table's sample rows beside it.
`q` opens the SQL console, `f` filters the sample rows, `e` exports, `Q` lists the table's
quarantined rows with their reasons, `J` opens the job that produced the table. Every DuckDB
call runs in a worker Esc cancels (the core interrupts the query), so the screen never waits.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Middle, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, Input, OptionList, Static
from textual.worker import Worker, WorkerState

from casparian_core.api import (
    AssistantContext,
    CatalogTable,
    ColumnStats,
    QueryResult,
    Stats,
    plural,
)
from casparian_core.errors import CasparianError
from casparian_tui.messages import ShowJob
from casparian_tui.screens.base import EmptyState, ModeScreen
from casparian_tui.widgets.inspect_distribution import DistributionChart
from casparian_tui.widgets.inspect_query import QueryPanel, quote_name
from casparian_tui.widgets.inspect_tables import TableList

if TYPE_CHECKING:
    from casparian_tui.widgets.inspect_columns import ColumnStatsTable
    from casparian_tui.widgets.inspect_quarantine import QuarantineView

SAMPLE_ROWS = 1000
CONTEXT_COLUMNS = 40  # the statistics of at most this many columns go to the assistant

NO_TABLES = (
    "[b]No output tables yet[/b]\n\n"
    "Tables appear here once a parser has written rows\n"
    "to the home's outputs: test one in [b]Parser Bench[/b],\n"
    "or run [b]casparian process[/b]."
)
PICK_HINT = "Enter computes this table's column statistics (Esc cancels) · q opens the SQL editor"
FILTER_HINT = "a SQL condition on the rows, e.g. amount > 100 AND region = 'north'"
# Workers whose DuckDB query Esc interrupts, and what the screen says when it does.
CANCELLABLE = ("inspect-query", "inspect-stats", "inspect-column", "inspect-sample")


class InspectScreen(ModeScreen):
    MODE = "inspect"
    CSS_PATH = "../styles/inspect.tcss"
    AUTO_FOCUS = "#table-list"
    BINDINGS = [  # noqa: RUF012
        Binding("q", "sql", "SQL"),
        Binding("f", "filter", "Filter"),
        Binding("e", "export", "Export"),
        Binding("Q", "quarantine", "Quarantine"),
        Binding("J", "producing_job", "Job"),
        Binding("ctrl+r", "run_query", "Run query", key_display="^r"),
        # Ctrl+Enter too, where the terminal tells it from Enter (the help lists both).
        Binding("ctrl+enter", "run_query", "Run query", show=False),
        Binding("ctrl+up", "history(-1)", "Earlier query", show=False),
        Binding("ctrl+down", "history(1)", "Later query", show=False),
        Binding("escape", "back_out", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.table: CatalogTable | None = None  # the table whose statistics are shown
        self.column_stats: list[ColumnStats] = []
        self.column: str | None = None
        self.row_filter: str | None = None
        self.sample: QueryResult | None = None

    def compose_body(self) -> ComposeResult:
        with Middle(id="inspect-empty"), Center():
            yield EmptyState(NO_TABLES, classes="empty-state")
        with Horizontal(id="inspect-body"):
            with Vertical(id="inspect-left"):
                yield Static("[b]Tables[/b] [dim]j/k · Enter[/dim]", id="tables-title")
                yield TableList(id="table-list")
            with ContentSwitcher(initial="table-view", id="inspect-main"):
                with Vertical(id="table-view"):
                    yield Static("", id="table-title")
                    yield Vertical(id="column-stats")
                    with Horizontal(id="column-detail"):
                        with VerticalScroll(id="distribution-pane"):
                            yield DistributionChart(id="distribution")
                        with Vertical(id="sample-pane"):
                            yield Input(placeholder=FILTER_HINT, id="row-filter")
                            yield Static("", id="sample-status")
                            yield Vertical(id="sample-rows")
                yield QueryPanel(id="query-view")
                yield Vertical(id="quarantine-view")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#inspect-body").display = False
        self.query_one("#inspect-empty").display = False
        self.query_one("#row-filter").display = False
        self.query_one("#column-detail").display = False
        self.watch(self.app, "stats", self._on_stats)

    @property
    def current_view(self) -> str:
        return self.query_one(ContentSwitcher).current or "table-view"

    def _show_view(self, view: str) -> None:
        self.query_one(ContentSwitcher).current = view
        self.refresh_bindings()

    # The table list, read again whenever the home's data changes.

    def _on_stats(self, stats: Stats | None) -> None:
        if stats is not None:
            self.load_tables()

    @work(exclusive=True, group="inspect-tables", exit_on_error=False)
    async def load_tables(self) -> None:
        tables = await self.app.service.inspect.tables()
        self.query_one("#inspect-empty").display = not tables
        self.query_one("#inspect-body").display = bool(tables)
        table_list = self.query_one(TableList)
        table_list.show(tables)
        if self.table is None:
            self._show_title(table_list.highlighted_table)
        self.refresh_bindings()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.table is None:  # statistics shown stay until Enter on another table
            self._show_title(self.query_one(TableList).highlighted_table)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        table = self.query_one(TableList).highlighted_table
        if table is not None:
            self._show_view("table-view")
            self.compute_stats(table)

    def _show_title(self, table: CatalogTable | None) -> None:
        title = self.query_one("#table-title", Static)
        if table is None:
            title.update("")
            return
        title.update(table_title(table, hint=table is not self.table))

    # Column statistics, then the selected column's distribution and the sample rows.

    @work(exclusive=True, group="inspect-stats", exit_on_error=False)
    async def compute_stats(self, table: CatalogTable) -> None:
        from casparian_tui.widgets.inspect_columns import ColumnStatsTable  # loads pyarrow

        self.table, self.column, self.row_filter, self.sample = table, None, None, None
        self._show_title(table)
        holder = self.query_one("#column-stats", Vertical)
        await holder.remove_children()
        self.query_one("#column-detail").display = False
        await holder.mount(
            Static(
                Text(f"Computing statistics of {table.rows:,} rows… Esc cancels", style="yellow"),
                id="stats-status",
            )
        )
        self.column_stats = await self.app.service.inspect.column_stats(table.name)
        await holder.remove_children()
        stats_table = ColumnStatsTable(self.column_stats, id="column-stats-table")
        await holder.mount(stats_table)
        self.query_one("#column-detail").display = True
        self.query_one("#row-filter", Input).value = ""
        self.query_one("#row-filter").display = False
        stats_table.focus()
        self.load_sample()
        self._select_column(stats_table)

    def on_column_stats_table_moved(self, event: ColumnStatsTable.Moved) -> None:
        self._select_column(event.table)

    def _select_column(self, table: ColumnStatsTable) -> None:
        selected = table.selected
        if selected is None or selected.name == self.column or self.table is None:
            return
        self.column = selected.name
        self.load_distribution(self.table.name, selected.name)
        self._show_sample()

    @work(exclusive=True, group="inspect-column", exit_on_error=False)
    async def load_distribution(self, table: str, column: str) -> None:
        chart = self.query_one(DistributionChart)
        chart.show(Text(f"Counting the values of {column}…", style="yellow"))
        chart.show(await self.app.service.inspect.distribution(table, column))

    @work(exclusive=True, group="inspect-sample", exit_on_error=False)
    async def load_sample(self) -> None:
        if self.table is None:
            return
        self._sample_status(Text("Reading sample rows…", style="yellow"))
        self.sample = await self.app.service.inspect.sample(
            self.table.name, where=self.row_filter, limit=SAMPLE_ROWS
        )
        self._show_sample()

    def _show_sample(self) -> None:
        from casparian_tui.widgets.arrow_table import ArrowTable  # loads pyarrow

        if self.sample is None:
            return
        rows = self.sample.table
        if self.column in rows.column_names:  # the selected column first
            rows = rows.select([self.column, *(n for n in rows.column_names if n != self.column)])
        status = Text(f"{rows.num_rows:,} sample rows" if rows.num_rows else "No rows")
        if self.row_filter:
            status.append(f" where {self.row_filter}", style="cyan")
        if self.sample.truncated:
            status.append(f" (the first {SAMPLE_ROWS:,})", style="dim")
        self._sample_status(status)
        holder = self.query_one("#sample-rows", Vertical)
        holder.remove_children()
        holder.mount(ArrowTable(rows, classes="sample-table"))

    def _sample_status(self, text: Text) -> None:
        self.query_one("#sample-status", Static).update(text)

    def _stats_table(self) -> ColumnStatsTable | None:
        from casparian_tui.widgets.inspect_columns import ColumnStatsTable

        found = self.query("#column-stats-table")
        return found.first(ColumnStatsTable) if found else None

    # Filtering the sample rows.

    def action_filter(self) -> None:
        if self.table is None:
            self.notify("Press Enter on a table first: the filter applies to its rows")
            return
        self._show_view("table-view")
        field = self.query_one("#row-filter", Input)
        field.display = True
        field.focus()

    @on(Input.Submitted, "#row-filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        event.stop()
        self.row_filter = event.value.strip() or None
        self.load_sample()
        table = self._stats_table()
        if table is not None:
            table.focus()

    def _close_filter(self) -> None:
        field = self.query_one("#row-filter", Input)
        field.value = ""
        field.display = False
        if self.row_filter is not None:
            self.row_filter = None
            self.load_sample()
        self.focus_content()

    # The SQL console.

    def action_sql(self) -> None:
        self._show_view("query-view")
        highlighted = self._chosen_table()
        self.query_one(QueryPanel).start(None if highlighted is None else highlighted.name)

    def action_run_query(self) -> None:
        panel = self.query_one(QueryPanel)
        if not panel.sql:
            panel.editor.focus()
            return
        panel.show_running(panel.sql)
        self.run_query(panel.sql)

    @work(exclusive=True, group="inspect-query", exit_on_error=False)
    async def run_query(self, sql: str) -> None:
        panel = self.query_one(QueryPanel)
        try:
            result = await self.app.service.inspect.query(sql)
        except CasparianError as error:
            await panel.show_error(str(error))
            return
        await panel.show_result(result)

    def action_history(self, step: int) -> None:
        self.query_one(QueryPanel).recall(step)

    # Quarantine, export, the producing job.

    def action_quarantine(self) -> None:
        table = self._chosen_table()
        if table is None:
            return
        self._show_view("quarantine-view")
        self.load_quarantine(table)

    @work(exclusive=True, group="inspect-quarantine", exit_on_error=False)
    async def load_quarantine(self, table: CatalogTable) -> None:
        from casparian_tui.widgets.inspect_quarantine import QuarantineView  # loads pyarrow

        holder = self.query_one("#quarantine-view", Vertical)
        await holder.remove_children()
        if table.is_quarantine:
            await holder.mount(Static(f"{table.name} is a quarantine table: Enter shows its rows."))
            return
        page = await self.app.service.inspect.quarantine(output=table.name)
        view = QuarantineView()
        await holder.mount(view)
        await view.show(table.name, page)

    def on_quarantine_view_moved(self, event: QuarantineView.Moved) -> None:
        self.load_quarantine_row(event.entry.id)

    @work(exclusive=True, group="inspect-quarantine-row", exit_on_error=False)
    async def load_quarantine_row(self, entry_id: str) -> None:
        from casparian_tui.widgets.inspect_quarantine import QuarantineView

        row = await self.app.service.inspect.quarantine_row(entry_id)
        self.query_one(QuarantineView).show_row(row)

    def action_export(self) -> None:
        source, what, name = self._export_source()
        if source is None:
            self.notify("Nothing to export here: pick a table or run a query first")
            return
        self.export(source, what, name)

    def _export_source(self) -> tuple[str | None, str, str]:
        """What `e` exports here: the query's result in the SQL view, else the table (only the
        rows the filter keeps, when one is on)."""
        if self.current_view == "query-view":
            sql = self.query_one(QueryPanel).sql
            return (sql or None), "the query's result", "query"
        table = self._chosen_table()
        if table is None:
            return None, "", ""
        if self.row_filter and table is self.table:
            sql = f"SELECT * FROM {quote_name(table.name)} WHERE {self.row_filter}"
            return sql, f"{table.name} where {self.row_filter}", table.name
        return table.name, f"table {table.name}", table.name

    @work(exclusive=True, group="inspect-export-dialog", exit_on_error=False)
    async def export(self, source: str, what: str, name: str) -> None:
        from casparian_tui.widgets.inspect_export import ExportDialog, exported_line

        default = Path(f"{name}.parquet")  # relative: where the app was started, as in a shell
        result = await self.app.push_screen_wait(
            ExportDialog(self.app.service, source, what, default)
        )
        if result is not None:
            self.notify(exported_line(result), title="Export")

    def action_producing_job(self) -> None:
        table = self._chosen_table()
        if table is None:
            return
        if table.last_job_id is None:
            self.notify(
                f"No job is recorded for {table.name}: its rows came from a dev run "
                "(casparian run or a Parser Bench test), not the job queue"
            )
            return
        self.app.post_message(ShowJob(table.last_job_id))

    def _chosen_table(self) -> CatalogTable | None:
        """The table whose statistics are shown, else the one highlighted in the list."""
        return self.table or self.query_one(TableList).highlighted_table

    # Esc: stop what runs, then close the filter, then back to the table view, then Home.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back_out":
            return self._can_back_out()
        if action in ("run_query", "history"):
            return self.current_view == "query-view"
        if action == "filter":
            return self.table is not None
        if action == "sql":
            return bool(self.query_one(TableList).tables)
        if action == "export":
            return self._export_source()[0] is not None
        if action in ("quarantine", "producing_job"):
            return self._chosen_table() is not None
        return super().check_action(action, parameters)

    def _can_back_out(self) -> bool:
        """Something to stop or close here: otherwise Esc goes on to the app (Home)."""
        running = bool(self._cancellable_work())
        return running or self._filter_open() or self.current_view != "table-view"

    def action_back_out(self) -> None:
        running = self._cancellable_work()
        if running:
            for worker in running:
                worker.cancel()
                self._show_cancelled(worker.group)
            return
        if self._filter_open():
            self._close_filter()
        elif self.current_view != "table-view":
            self._show_view("table-view")
            self.focus_content()

    def _cancellable_work(self) -> list[Worker[None]]:
        return [w for w in self.workers if w.group in CANCELLABLE and w.is_running]

    def _filter_open(self) -> bool:
        return bool(self.query_one("#row-filter").display) and self.current_view == "table-view"

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        group = event.worker.group
        # A cancelled worker says so where Esc cancelled it: one replaced by a newer one of its
        # group (the cursor moved on) must not overwrite what the newer one shows.
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            message = (
                str(error)
                if isinstance(error, CasparianError)
                else f"unexpected error ({type(error).__name__}): {error}"
            )
            self._show_error(group, Text(message, style="red"))
        self.refresh_bindings()

    def _show_cancelled(self, group: str) -> None:
        stopped = Text("Cancelled (Enter on the table starts again).", style="yellow")
        if group == "inspect-query":
            self.query_one(QueryPanel).show_cancelled()
        elif group == "inspect-stats":
            self._replace_stats_status(stopped)
        elif group == "inspect-column":
            self.query_one(DistributionChart).show(stopped)
        elif group == "inspect-sample":
            self._sample_status(stopped)

    def _show_error(self, group: str, message: Text) -> None:
        if group == "inspect-stats":
            self._replace_stats_status(message)
        elif group == "inspect-column":
            self.query_one(DistributionChart).show(message)
        elif group == "inspect-sample":
            self._sample_status(message)
        elif group == "inspect-quarantine":
            self.query_one("#quarantine-view", Vertical).mount(Static(message))
        elif group == "inspect-quarantine-row":
            from casparian_tui.widgets.inspect_quarantine import QuarantineView

            self.query_one(QuarantineView).show_row(message)
        else:
            self.notify(message.plain, title="Inspect", severity="error")

    def _replace_stats_status(self, text: Text) -> None:
        found = self.query("#stats-status")
        if found:
            found.first(Static).update(text)

    # The assistant sees the table, the column, the filter or the query, and the statistics.

    def assistant_context(self) -> AssistantContext:
        table = self._chosen_table()
        if table is None:
            return AssistantContext(self.MODE)
        selection = {"table": table.name, "rows": str(table.rows)}
        if self.column is not None and table is self.table:
            selection["column"] = self.column
        if self.row_filter:
            selection["filter"] = self.row_filter
        if self.current_view == "query-view" and self.query_one(QueryPanel).sql:
            selection["query"] = self.query_one(QueryPanel).sql
        detail = stats_context(self.column_stats) if table is self.table else None
        return AssistantContext(self.MODE, selection, detail)


def table_title(table: CatalogTable, *, hint: bool) -> Text:
    title = Text.assemble((table.name, "bold"), f"  {plural(table.rows, 'row')}")
    title.append(f" · {plural(table.parts, 'part')}")
    title.append(f" · {table.sink} · {len(table.columns)} columns", style="dim")
    if table.producers:
        title.append(f"\nmade by {', '.join(table.producers)}", style="cyan")
        if table.last_job_id:
            title.append(f" · last job {table.last_job_id[:8]} (J opens it)", style="dim")
    if table.quarantined_rows:
        title.append(f"\n⚠ {table.quarantined_rows:,} rows quarantined (Q lists them)", "yellow")
    for broken in table.broken_parts:
        title.append(f"\n✗ {broken.path} left out: {broken.reason}", style="red")
    if hint:
        title.append(f"\n{PICK_HINT}", style="dim")
    return title


def stats_context(stats: list[ColumnStats]) -> str | None:
    """The column statistics as lines of text, for the assistant."""
    if not stats:
        return None
    lines = ["Column statistics (name, type, null %, distinct ≈, min, max, top values):"]
    for s in stats[:CONTEXT_COLUMNS]:
        top = ", ".join(f"{value} ({count})" for value, count in s.top_values)
        lines.append(
            f"{s.name} {s.type} nulls {s.null_pct:.1f}% distinct {s.distinct} "
            f"min {s.min} max {s.max}" + (f" top {top}" if top else "")
        )
    return "\n".join(lines)
