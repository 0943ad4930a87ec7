"""Discover: sources and tags as type-to-filter dropdowns, a paged file list, preview, tagging.

Every list comes from a query through CoreService.scout: the screen holds one page of files,
so a million-file catalogue is as quick to browse as a small one.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Static

from casparian_core.api import UNTAGGED, AssistantContext, FileQuery, Stats, Untagged, has_glob
from casparian_core.errors import CasparianError
from casparian_tui.screens.base import EmptyState, ModeScreen
from casparian_tui.screens.prompt import ConfirmPrompt, TextPrompt
from casparian_tui.screens.rules_manager import RuleDraft, RulesScreen
from casparian_tui.screens.scan_dialog import ScanScreen
from casparian_tui.screens.sources_manager import SourcesScreen
from casparian_tui.widgets.file_table import COUNT_AT_MOST, PAGE_SIZE, FileTable, page_label
from casparian_tui.widgets.filter_dropdown import Choice, FilterDropdown
from casparian_tui.widgets.preview_pane import PreviewPane

FILTER_DEBOUNCE_S = 0.15
ALL = None  # the "All sources" / "All files" choice

NO_SOURCES = (  # one paragraph: it wraps to the pane's width (narrower beside the chat)
    "[b]No sources yet[/b]\n\n"
    "Press [b]s[/b] to scan a folder: its files are catalogued here "
    "to browse, preview and tag. (From a shell: [b]casparian scan <folder>[/b].)"
)


class DiscoverScreen(ModeScreen):
    MODE = "discover"
    CSS_PATH = "../styles/discover.tcss"
    AUTO_FOCUS = "#files"  # never a hidden filter box: it would swallow the 1/2/t keys
    BINDINGS = [  # noqa: RUF012
        Binding("1", "open_dropdown('sources')", "Sources"),
        Binding("2", "open_dropdown('tags')", "Tags"),
        Binding("slash", "filter", "Find", key_display="/"),
        Binding("p", "toggle_preview", "Preview"),
        Binding("left_square_bracket", "scroll_preview(-1)", "Preview left", show=False),
        Binding("right_square_bracket", "scroll_preview(1)", "Preview right", show=False),
        Binding("t", "tag_file", "Tag"),
        Binding("T", "tag_all", "Tag all"),
        Binding("R", "rules", "Rules"),
        Binding("M", "sources", "Manage"),
        Binding("s", "scan", "Scan"),
        Binding("a", "write_parser", "Ask AI for a parser", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.source_id: int | None = ALL
        self.tag: str | Untagged | None = ALL
        self.text = ""
        self.total: int | None = None
        self._debounce: Timer | None = None
        self._stale = False
        self._source_names: dict[int, str] = {}

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="discover-body"):
            with Vertical(id="discover-sidebar"):
                yield FilterDropdown[int | None]("[b]1[/b] Sources", id="sources")
                yield FilterDropdown[str | Untagged | None]("[b]2[/b] Tags", id="tags")
            with Vertical(id="discover-files"):
                yield Input(placeholder="filter: glob (*.csv) or text", id="file-filter")
                yield FileTable(id="files")
                yield EmptyState(NO_SOURCES, id="no-sources", classes="empty-state")
                yield Static("", id="files-status")
            yield PreviewPane(id="preview")

    def on_mount(self) -> None:
        self.query_one("#file-filter").display = False
        self.query_one("#preview").display = False
        self.query_one("#no-sources").display = False
        self.watch(self.app, "stats", self._on_stats)

    # Keeping up with changes made elsewhere (a scan, the CLI, a watched folder).

    def _on_stats(self, stats: Stats | None) -> None:
        if stats is None:
            return
        if self.is_current:
            self.reload()
        else:
            self._stale = True

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.reload()

    @work(exclusive=True, group="discover-sidebar", exit_on_error=False)
    async def reload(self) -> None:
        """Refresh the dropdowns, then the files, keeping the user's choices and page."""
        sources = await self.app.service.scout.sources()
        self._source_names = {s.id: s.name for s in sources}
        no_sources = not sources
        self.query_one("#no-sources").display = no_sources
        self.query_one("#files").display = not no_sources
        total = sum(s.files for s in sources)
        dropdown = self.query_one("#sources", FilterDropdown)
        dropdown.set_choices(
            [Choice("All sources", ALL, f"{total:,}")]
            + [Choice(s.name, s.id, f"{s.files:,}") for s in sources],
            self.source_id,
        )
        self.source_id = _selected_value(dropdown)  # "All sources" once the chosen one is gone
        await self._reload_tags()
        self.load_files(keep_offset=True)

    async def _reload_tags(self) -> None:
        counts = await self.app.service.scout.tags(self.source_id)
        dropdown = self.query_one("#tags", FilterDropdown)
        dropdown.set_choices(
            [Choice("All files", ALL, f"{counts.total:,}")]
            + [Choice(tag, tag, f"{n:,}") for tag, n in counts.tags]
            + [Choice("untagged", UNTAGGED, f"{counts.untagged:,}")],
            self.tag,
        )
        self.tag = _selected_value(dropdown)  # "All files" once no file carries the tag

    # The file list.

    @property
    def file_query(self) -> FileQuery:
        return FileQuery(source_id=self.source_id, tag=self.tag, text=self.text or None)

    @work(exclusive=True, group="discover-files", exit_on_error=False)
    async def load_files(
        self, offset: int = 0, *, keep_offset: bool = False, at_end: bool = False
    ) -> None:
        table = self.query_one(FileTable)
        if keep_offset and table.page is not None:
            offset = table.page.offset
        scout = self.app.service.scout
        page = await scout.files_page(self.file_query, offset=offset, limit=PAGE_SIZE)
        if not page.rows and offset > 0:  # the page emptied under us (files removed)
            page = await scout.files_page(self.file_query, offset=0, limit=PAGE_SIZE)
        # Two sources may hold the same relative path: with all of them shown, say whose it is.
        names = (
            self._source_names if self.source_id is ALL and len(self._source_names) > 1 else None
        )
        table.show_page(page, source_names=names, cursor_at_end=at_end, keep_cursor=keep_offset)
        self._show_status()
        self.count_files()
        if self.query_one("#preview").display:
            self.load_preview()

    @work(exclusive=True, group="discover-count", exit_on_error=False)
    async def count_files(self) -> None:
        self.total = None
        self._show_status()
        at_most = COUNT_AT_MOST if self.text else None
        self.total = await self.app.service.scout.count_files(self.file_query, at_most)
        self._show_status()

    def on_file_table_page_wanted(self, message: FileTable.PageWanted) -> None:
        page = self.query_one(FileTable).page
        if page is not None:
            offset = max(0, page.offset + message.step * PAGE_SIZE)
            self.load_files(offset, at_end=message.step < 0)

    def _show_status(self) -> None:
        table = self.query_one(FileTable)
        parts = [page_label(table.page, self.total, capped=bool(self.text))]
        if self.text:
            parts.append(f"filter: {self.text}")
        self.query_one("#files-status", Static).update("  ·  ".join(parts))

    # Dropdowns: the file list follows the highlighted entry as the user moves.

    def action_open_dropdown(self, which: str) -> None:
        self.query_one(f"#{which}", FilterDropdown).open()

    async def on_filter_dropdown_highlighted(self, message: FilterDropdown.Highlighted) -> None:
        if message.dropdown.id == "sources":
            self.source_id = message.value  # type: ignore[assignment]
            await self._reload_tags()
        else:
            self.tag = message.value  # type: ignore[assignment]
        self.load_files()

    def on_filter_dropdown_chosen(self, _message: FilterDropdown.Chosen) -> None:
        self.query_one(FileTable).focus()

    # The filter box.

    def action_filter(self) -> None:
        box = self.query_one("#file-filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "file-filter":
            return
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(FILTER_DEBOUNCE_S, lambda: self._apply_filter(event.value))

    def _apply_filter(self, text: str) -> None:
        self.text = text.strip()
        self.load_files()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "file-filter":
            self._apply_filter(event.value)
            self.query_one(FileTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return self.query_one("#file-filter").display  # else Esc falls through to Home
        return super().check_action(action, parameters)

    def action_clear_filter(self) -> None:
        box = self.query_one("#file-filter", Input)
        box.value = ""
        box.display = False
        self._apply_filter("")
        self.query_one(FileTable).focus()

    # Preview.

    def action_toggle_preview(self) -> None:
        pane = self.query_one("#preview")
        pane.display = not pane.display
        if pane.display:
            self.load_preview()

    def action_scroll_preview(self, direction: int) -> None:
        pane = self.query_one(PreviewPane)
        if pane.display:
            pane.action_step(direction)

    def on_file_table_highlighted(self, _event: FileTable.Highlighted) -> None:
        if self.query_one("#preview").display:
            self.load_preview()

    @work(exclusive=True, group="discover-preview", exit_on_error=False)
    async def load_preview(self) -> None:
        pane = self.query_one(PreviewPane)
        row = self.query_one(FileTable).current_file
        if row is None:
            pane.show_message("[dim]No file selected.[/dim]")
            return
        try:
            preview = await self.app.service.scout.preview(row.id)
        except CasparianError as exc:
            pane.show_message(f"[red]{exc}[/red]")
            return
        pane.show(preview)

    # Tagging.

    @work(exclusive=True, group="discover-edit", exit_on_error=False)
    async def action_tag_file(self) -> None:
        row = self.query_one(FileTable).current_file
        if row is None:
            return
        tag = await self.app.push_screen_wait(
            TextPrompt(
                f"Tag [b]{row.rel_path}[/b] as:",
                value=row.tag or "",
                suggestions=await self._known_tags(),
            )
        )
        if tag is not None:
            await self._tag(FileQuery(path=row.path), tag)

    @work(exclusive=True, group="discover-edit", exit_on_error=False)
    async def action_tag_all(self) -> None:
        count = await self.app.service.scout.count_files(self.file_query)
        if not count:
            return
        tag = await self.app.push_screen_wait(
            TextPrompt(
                f"Tag all [b]{count:,}[/b] files shown as:", suggestions=await self._known_tags()
            )
        )
        if tag is None:
            return
        question = f"Tag {count:,} files as [b]{tag}[/b]? Manual tags are never changed by rules."
        if await self.app.push_screen_wait(ConfirmPrompt(question, "Tag")):
            await self._tag(self.file_query, tag)

    async def _tag(self, query: FileQuery, tag: str) -> None:
        try:
            changed = await self.app.service.scout.tag_files(query, tag)
        except CasparianError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"Tagged {changed:,} file{'s' if changed != 1 else ''} as {tag}")

    async def _known_tags(self) -> list[str]:
        return [tag for tag, _ in (await self.app.service.scout.tags()).tags]

    # The assistant.

    def assistant_context(self) -> AssistantContext:
        """The files in view: the source, the tag, the filter, the highlighted file."""
        selection: dict[str, str] = {}
        source = self.query_one("#sources", FilterDropdown).selected
        if source is not None and source.value is not ALL:
            selection["source"] = source.label
        if isinstance(self.tag, str):
            selection["tag"] = self.tag
        elif self.tag is UNTAGGED:
            selection["tag"] = "(untagged)"
        if self.text:
            selection["filter"] = self.text
        table = self.query_one(FileTable)
        row = table.current_file
        if row is not None:
            selection["file"] = row.path
            selection["file_ids"] = str(row.id)
        shown = page_label(table.page, self.total, capped=bool(self.text))
        return AssistantContext(self.MODE, selection, f"The file list shows: {shown}.")

    async def action_write_parser(self) -> None:
        """`a`: the chat, ready to ask for a parser for the files in view."""
        if self.query_one(FileTable).current_file is None:
            self.notify("No files here yet: scan a folder (s), then choose a tag or a file")
            return
        await self.open_assistant(WRITE_PARSER)

    # Managers and scanning.

    def action_rules(self) -> None:
        self.app.push_screen(RulesScreen(self.app.service, self._rule_from_context()))

    def _rule_from_context(self) -> RuleDraft:
        """A new rule starts from what the user is looking at: the filter or the file's type."""
        row = self.query_one(FileTable).current_file
        if self.text:
            pattern = self.text if has_glob(self.text) else f"*{self.text}*"
        elif row is not None and "." in row.rel_path.rsplit("/", 1)[-1]:
            pattern = "*." + row.rel_path.rsplit(".", 1)[-1]
        else:
            pattern = "*"
        tag = self.tag if isinstance(self.tag, str) else ""
        source = self.query_one("#sources", FilterDropdown).selected
        source_name = source.label if source is not None and source.value is not ALL else None
        return RuleDraft(pattern, tag, 0, source_name)

    def action_sources(self) -> None:
        self.app.push_screen(SourcesScreen(self.app.service))

    def action_scan(self) -> None:
        self.app.push_screen(ScanScreen(self.app.service))


WRITE_PARSER = "Write a parser for these files"


def _selected_value(dropdown: FilterDropdown) -> Any:
    """What the dropdown shows: its choice, or the first when the old one has disappeared."""
    return dropdown.selected.value if dropdown.selected is not None else ALL
