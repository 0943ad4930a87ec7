"""Scanning a folder from the TUI: ask for the path, show a live counter, Esc cancels.

A cancelled scan keeps what it catalogued and marks nothing missing (the core guarantees it), so
the catalogue stays consistent whenever the user stops.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from casparian_core.api import ScanSummary
from casparian_core.errors import CasparianError
from casparian_core.events import ScanProgress
from casparian_core.service import CoreService

if TYPE_CHECKING:
    from textual import getters

    from casparian_tui.app import CasparianApp

# What Esc does, said once, in the dialog's last line: it changes as the scan goes.
HINT_READY = "[dim]Enter scans the folder · Esc closes[/dim]"
HINT_SCANNING = "[dim]Esc stops the scan (the files found so far are kept)[/dim]"
HINT_DONE = "[dim]Esc closes[/dim]"


class ScanScreen(ModalScreen[ScanSummary | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel scan / close")]  # noqa: RUF012

    if TYPE_CHECKING:  # runs in CasparianApp, whose running_work it joins
        app = getters.app(CasparianApp)

    class Progressed(Message):
        def __init__(self, progress: ScanProgress) -> None:
            super().__init__()
            self.progress = progress

    def __init__(self, service: CoreService, path: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.service = service
        self.start_path = path
        self.cancel = threading.Event()
        self.summary: ScanSummary | None = None
        self.scanning = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Scan a folder[/b]", classes="dialog-title")
            yield Input(self.start_path or "", placeholder="/path/to/folder", id="scan-path")
            yield Static("", id="scan-status")
            yield Static(HINT_READY, id="scan-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        if self.start_path:
            self.start_scan(self.start_path)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() and not self.scanning:
            self.start_scan(event.value.strip())

    @work(exclusive=True, group="scan", exit_on_error=False)
    async def start_scan(self, path: str) -> None:
        self.scanning = True
        self._hint(HINT_SCANNING)
        self.query_one(Input).disabled = True
        self._status(f"Scanning {path}…")
        self.app.running_work.add(self.cancel)  # quitting the app stops the scan as Esc does
        try:
            self.summary = await self.service.scout.scan(
                path,
                on_progress=lambda p: self.post_message(self.Progressed(p)),
                cancel=self.cancel,
            )
        except CasparianError as exc:
            self._status(f"[red]{exc}[/red]")
            self._hint(HINT_READY)
            self.query_one(Input).disabled = False
            self.query_one(Input).focus()
            return
        finally:
            self.scanning = False
            self.app.running_work.discard(self.cancel)
        summary = self.summary
        verb = "Cancelled after" if summary.cancelled else "Done:"
        self._status(
            f"{verb} {summary.seen:,} files seen — {summary.new:,} new, {summary.changed:,} "
            f"changed, {summary.missing:,} missing, {sum(summary.skipped.values()):,} skipped "
            f"({summary.files_per_s:,.0f} files/s)"
        )
        self._hint(HINT_DONE)

    def on_scan_screen_progressed(self, message: Progressed) -> None:
        if self.scanning:
            p = message.progress
            self._status(
                f"Scanning {p.source}: [b]{p.seen:,}[/b] files, {p.new:,} new, "
                f"{p.changed:,} changed\n[dim]{p.current_dir}[/dim]"
            )

    def action_cancel(self) -> None:
        if self.scanning:
            self.cancel.set()  # the scan stops at its next file and commits what it has
        elif self.is_active:
            self.dismiss(self.summary)

    def _hint(self, text: str) -> None:
        self.query_one("#scan-hint", Static).update(text)

    def _status(self, text: str) -> None:
        self.query_one("#scan-status", Static).update(text)
