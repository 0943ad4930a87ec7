"""The Discover preview: text with its encoding, CSV as a table, JSON, or a hex dump."""

from __future__ import annotations

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.widgets import Static

from casparian_core.api import Preview, PreviewMode

TABLE_PREVIEW_ROWS = 30


# One horizontal step: about one CSV column (TABLE_COLUMN_CHARS plus its padding), not one cell.
SCROLL_STEP = 16
TABLE_COLUMN_CHARS = 14


class PreviewPane(ScrollableContainer, can_focus=True):
    """Scrolls both ways: hex dumps and wide CSV rows keep their lines whole. `[` and `]`
    (from the file list) or the arrows (with the pane focused, Tab) move a column at a time."""

    BINDINGS = [  # noqa: RUF012
        Binding("left", "step(-1)", "Scroll left", show=False),
        Binding("right", "step(1)", "Scroll right", show=False),
    ]

    def action_step(self, direction: int) -> None:
        self.scroll_relative(x=direction * SCROLL_STEP, animate=False)

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-title")
        yield Static("", id="preview-body")

    def show_message(self, message: str) -> None:
        self.query_one("#preview-title", Static).update("[b]Preview[/b]")
        self.query_one("#preview-body", Static).update(message)

    def show(self, preview: Preview) -> None:
        notes = [preview.kind]
        if preview.encoding:
            notes.append(preview.encoding)
        if preview.truncated:
            notes.append("first 64 KB")
        title = f"[b]{preview.rel_path}[/b]\n[dim]{' · '.join(notes)}[/dim]"
        self.query_one("#preview-title", Static).update(title)
        self.query_one("#preview-body", Static).update(_body(preview))
        self.scroll_home(animate=False)


def _body(preview: Preview) -> RenderableType:
    if preview.mode is PreviewMode.EMPTY:
        return Text("(empty file)", style="dim")
    if preview.mode is PreviewMode.TABLE:
        table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False)
        for name in preview.header:
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=TABLE_COLUMN_CHARS)
        width = len(preview.header)
        for row in preview.rows[:TABLE_PREVIEW_ROWS]:
            table.add_row(*row[:width], *[""] * (width - len(row)))  # ragged CSV lines
        return table
    if preview.mode is PreviewMode.JSON:
        from rich.syntax import Syntax  # pygments costs ~0.2 s at start-up: load on first use

        return Syntax(preview.text, "json", theme="ansi_dark", word_wrap=True)
    return Text(preview.text, no_wrap=True)
