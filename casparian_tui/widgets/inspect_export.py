"""Inspect's export dialog: a path, Parquet or CSV, then the rows written as they go. A failure
(a folder that is not writable, a full disk) is shown in red and the dialog stays open to try
another path; the core leaves no partial file behind."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from casparian_core.api import ExportFormat, ExportResult, format_bytes
from casparian_core.errors import CasparianError
from casparian_core.service import CoreService

SUFFIXES = {ExportFormat.PARQUET: ".parquet", ExportFormat.CSV: ".csv"}


class ExportDialog(ModalScreen[ExportResult | None]):
    """Export `source` (a table name or a SELECT) to a file; answers the ExportResult, or None
    when the user leaves without exporting. Esc while it writes stops the export."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]  # noqa: RUF012

    class Written(Message):
        """Rows written so far (from the export's thread)."""

        def __init__(self, rows: int) -> None:
            super().__init__()
            self.rows = rows

    def __init__(self, service: CoreService, source: str, what: str, default: Path) -> None:
        super().__init__(classes="dialog-screen")
        self.service = service
        self.source = source  # what the core exports: a table's name or a query
        self.what = what  # how the title names it: "table sales", "the query's result"
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export-dialog"):
            yield Static(f"[b]Export {self.what}[/b]", classes="dialog-title")
            with RadioSet(id="export-format"):
                yield RadioButton("Parquet", value=True, id="format-parquet")
                yield RadioButton("CSV", id="format-csv")
            yield Input(str(self.default), placeholder="a file path", id="export-path")
            yield Static("", id="export-status")
            yield Static(
                "[dim]Enter exports · Esc cancels · a relative path starts in the folder the "
                "app was started from[/dim]",
                classes="dialog-hint",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export-start")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @property
    def format(self) -> ExportFormat:
        csv = self.query_one("#format-csv", RadioButton).value
        return ExportFormat.CSV if csv else ExportFormat.PARQUET

    @on(RadioSet.Changed)
    def _follow_format(self) -> None:
        """The path's suffix follows the chosen format."""
        field = self.query_one("#export-path", Input)
        path = Path(field.value.strip() or str(self.default))
        if path.suffix.lower() in SUFFIXES.values():
            field.value = str(path.with_suffix(SUFFIXES[self.format]))

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-start")
    def _start(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            self._show(Text("Give the file to write.", style="red"))
            return
        self.export(Path(text).expanduser().resolve(), self.format)

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_node(self)
        if self.is_active:
            self.dismiss(None)

    @work(exclusive=True, group="inspect-export", exit_on_error=False)
    async def export(self, path: Path, fmt: ExportFormat) -> None:
        self.query_one("#export-start", Button).disabled = True
        self._show(Text(f"Writing {path}…", style="yellow"))
        try:
            result = await self.service.inspect.export(
                self.source, path, fmt, progress=lambda rows: self.post_message(self.Written(rows))
            )
        except CasparianError as error:
            self._show(Text(str(error), style="red"))
            self.query_one("#export-start", Button).disabled = False
            return
        if self.is_active:
            self.dismiss(result)

    def on_export_dialog_written(self, message: Written) -> None:
        if self.query_one("#export-start", Button).disabled:  # still writing
            self._show(Text(f"{message.rows:,} rows written…", style="yellow"))

    def _show(self, text: Text) -> None:
        self.query_one("#export-status", Static).update(text)


def exported_line(result: ExportResult) -> str:
    return f"Exported {result.rows:,} rows to {result.path} ({format_bytes(result.bytes)})"
