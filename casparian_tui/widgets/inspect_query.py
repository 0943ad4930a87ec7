"""Inspect's SQL console: an editor with SQL highlighting, a status line, the result in the
Arrow-backed table, and the queries run this session one key away (Ctrl+Up / Ctrl+Down).

The screen runs the queries (it owns the worker that Esc cancels); this panel only shows."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TextArea

from casparian_core.api import QueryResult, format_duration, plural

RUN_KEYS = "Ctrl+R or Ctrl+Enter"
IDLE_HINT = f"{RUN_KEYS} runs · Ctrl+↑/↓ earlier queries · Esc back to the table"
DEFAULT_SQL = "SELECT * FROM {table} LIMIT 100"


class QueryPanel(Vertical):
    """Editor on top, status line, result below."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: list[str] = []
        self._back = 0  # how far back in the history the editor is (0: the newest text)
        self._draft = ""  # what the user had typed before going back through the history

    def compose(self) -> ComposeResult:
        yield TextArea(language="sql", soft_wrap=True, id="sql-editor")
        yield Static(Text(IDLE_HINT, style="dim"), id="query-status")
        yield Vertical(id="query-result")

    @property
    def editor(self) -> TextArea:
        return self.query_one("#sql-editor", TextArea)

    @property
    def sql(self) -> str:
        return self.editor.text.strip()

    def start(self, table: str | None) -> None:
        """Focus the editor; an empty one gets a first query over `table`."""
        if not self.editor.text.strip() and table is not None:
            self.editor.load_text(DEFAULT_SQL.format(table=quote_name(table)))
            self.editor.move_cursor(self.editor.document.end)
        self.editor.focus()

    # What a run shows.

    def show_running(self, sql: str) -> None:
        if not self.history or self.history[-1] != sql:
            self.history.append(sql)
        self._back = 0
        self._status(Text("Running… Esc cancels", style="yellow"))

    async def show_result(self, result: QueryResult) -> None:
        from casparian_tui.widgets.arrow_table import ArrowTable  # loads pyarrow

        rows = result.table.num_rows
        line = Text(f"{plural(rows, 'row')} in {elapsed_text(result.elapsed_ms)}")
        if result.truncated:
            line.append(
                f" · only the first {rows:,} are shown: more matched (add a LIMIT or a WHERE)",
                style="yellow",
            )
        self._status(line)
        await self._replace_result(ArrowTable(result.table, classes="query-table"))

    async def show_error(self, message: str) -> None:
        self._status(Text(message, style="red"))
        await self._replace_result(None)

    def show_cancelled(self) -> None:
        self._status(Text("Cancelled.", style="yellow"))

    def _status(self, text: Text) -> None:
        self.query_one("#query-status", Static).update(text)

    async def _replace_result(self, table: object | None) -> None:
        holder = self.query_one("#query-result", Vertical)
        await holder.remove_children()
        if table is not None:
            await holder.mount(table)  # type: ignore[arg-type]

    # The history.

    def recall(self, step: int) -> None:
        """Put an earlier (step -1) or later (step 1) query of this session in the editor."""
        target = self._back - step
        if not 0 <= target <= len(self.history):
            return
        if self._back == 0:
            self._draft = self.editor.text
        self._back = target
        text = self._draft if target == 0 else self.history[-target]
        self.editor.load_text(text)
        self.editor.move_cursor(self.editor.document.end)


def elapsed_text(ms: float) -> str:
    return format_duration(ms / 1000)


def quote_name(name: str) -> str:
    """A table name as SQL needs it: bare when it is a plain lower-case word."""
    if name.isidentifier() and name == name.lower():
        return name
    return '"' + name.replace('"', '""') + '"'
