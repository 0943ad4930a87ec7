"""The sources manager (`M` in Discover): the catalogued folders, watching, removal."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from casparian_core.api import SourceInfo
from casparian_core.service import CoreService
from casparian_tui.screens.prompt import ConfirmPrompt
from casparian_tui.screens.scan_dialog import ScanScreen
from casparian_tui.widgets.bench_paths import cut_left
from casparian_tui.widgets.file_table import MIN_PATH_WIDTH
from casparian_tui.widgets.table_cursor import current_key, restore_cursor
from casparian_tui.widgets.table_fit import column_widths, room_for

COLUMNS = ("Name", "Path", "Files", "Missing", "Watch", "Last scan")
PATH_AT = 1


class SourcesScreen(ModalScreen[None]):
    BINDINGS = [  # noqa: RUF012
        Binding("s", "scan", "Scan a folder"),
        Binding("r", "rescan", "Rescan source"),
        Binding("w", "watch", "Watch on/off"),
        Binding("d", "remove", "Remove source"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, service: CoreService) -> None:
        super().__init__(classes="dialog-screen")
        self.service = service
        self.sources: list[SourceInfo] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("[b]Sources[/b]", classes="dialog-title")
            yield DataTable(id="sources-table", cursor_type="row")
            yield Static("", id="sources-message")
            yield Static(
                "[dim]s scan a folder · r rescan · w watch on/off · d remove (files on disk are "
                "not touched) · Esc close[/dim]",
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.reload()

    @work(exclusive=True, group="sources", exit_on_error=False)
    async def reload(self) -> None:
        self.sources = await self.service.scout.sources()
        self._show()
        if not self.sources:
            self.query_one("#sources-message", Static).update("No sources yet: press s to scan.")
        self.query_one(DataTable).focus()

    def on_resize(self) -> None:
        self._show()  # the path takes what the other columns leave

    def _show(self) -> None:
        """The sources, each path cut from the left so that Last scan stays in view."""
        table = self.query_one(DataTable)
        row, key = table.cursor_row, current_key(table)
        table.clear(columns=True)
        cells = [_cells(source) for source in self.sources]
        widths = column_widths(list(COLUMNS), cells)
        room = room_for(table, widths, len(cells), PATH_AT)
        widths[PATH_AT] = min(widths[PATH_AT], max(MIN_PATH_WIDTH, room))
        for label, width in zip(COLUMNS, widths, strict=True):
            table.add_column(label, key=label.lower(), width=width)
        for source, row_cells in zip(self.sources, cells, strict=True):
            row_cells[PATH_AT] = cut_left(row_cells[PATH_AT], widths[PATH_AT])
            table.add_row(*row_cells, key=str(source.id))
        restore_cursor(table, key, row)

    @property
    def current(self) -> SourceInfo | None:
        return self.sources[self.query_one(DataTable).cursor_row] if self.sources else None

    @work(exclusive=True, group="sources-edit", exit_on_error=False)
    async def action_scan(self) -> None:
        await self.app.push_screen_wait(ScanScreen(self.service))
        self.reload()

    @work(exclusive=True, group="sources-edit", exit_on_error=False)
    async def action_rescan(self) -> None:
        if self.current is not None:
            await self.app.push_screen_wait(ScanScreen(self.service, path=self.current.path))
            self.reload()

    async def action_watch(self) -> None:
        if self.current is not None:
            await self.service.scout.set_watch(self.current.name, not self.current.watch)
            self.reload()

    @work(exclusive=True, group="sources-edit", exit_on_error=False)
    async def action_remove(self) -> None:
        source = self.current
        if source is None:
            return
        question = (
            f"Remove source {source.name!r} and its {source.files:,} catalogue entries?\n"
            f"[dim]The files in {source.path} stay on disk.[/dim]"
        )
        if await self.app.push_screen_wait(ConfirmPrompt(question, "Remove")):
            await self.service.scout.remove_source(source.name)
            self.reload()

    def action_close(self) -> None:
        if self.is_active:
            self.dismiss(None)


def _cells(source: SourceInfo) -> list[str]:
    return [
        source.name,
        source.path,
        f"{source.files:,}",
        f"{source.missing:,}",
        "on" if source.watch else "off",
        _last_scan_label(source),
    ]


def _last_scan_label(source: SourceInfo) -> str:
    """When the last complete scan ended. Files with no complete scan came from a cancelled
    (or still running) one: "never" beside them would read as a contradiction."""
    if source.last_scan_at is not None:
        return source.last_scan_at[:16].replace("T", " ")
    return "not completed" if source.files else "never"
