"""The Discover file list: one page of the catalogue at a time, never the whole of it.

The table holds PAGE_SIZE rows. Moving down past the last row asks for the next page, up past
the first row for the previous one; the screen fetches pages from CoreService, so a million-file
source costs the same as a small one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from textual.events import Resize
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable

from casparian_core.api import FilePage, FileRow, format_bytes
from casparian_tui.widgets.bench_paths import cut_left
from casparian_tui.widgets.table_cursor import current_key, restore_cursor
from casparian_tui.widgets.table_fit import column_widths, room_for

PAGE_SIZE = 200
# With a text filter the status line counts matches up to here: an exact count of a
# million-row substring match reads every path (~200 ms), past the 100 ms a keystroke may take.
# A source or tag alone is counted exactly, from the index (as the sidebar's numbers are).
COUNT_AT_MOST = 10_000
MIN_PATH_WIDTH = 16  # below this the path is unreadable: the table scrolls sideways instead


COLUMNS = ("Source", "Path", "Tag", "Kind", "Size", "Modified")  # Source: all sources shown
FULL_TIME, DAY = "%Y-%m-%d %H:%M", "%Y-%m-%d"


@dataclass(frozen=True)
class Layout:
    """The columns a width affords: all but `dropped`, Modified written with `modified`."""

    dropped: frozenset[str]
    modified: str = DAY


# Widest first: the first that leaves the path MIN_PATH_WIDTH wins (at 120 columns the first,
# at 80 the third, beside an open preview the path alone: the preview tells the rest); past the
# last the table scrolls sideways.
LAYOUTS = (
    Layout(frozenset(), FULL_TIME),
    Layout(frozenset()),
    Layout(frozenset({"Kind"})),
    Layout(frozenset({"Kind", "Modified"})),
    Layout(frozenset({"Kind", "Modified", "Size"})),
    Layout(frozenset({"Kind", "Modified", "Size", "Tag"})),
    Layout(frozenset({"Kind", "Modified", "Size", "Tag", "Source"})),
)


class FileTable(DataTable[str]):
    class PageWanted(Message):
        """The cursor ran off one end of the page: `step` is +1 (next) or -1 (previous)."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.page: FilePage | None = None
        self.source_names: dict[int, str] | None = None  # set: a Source column (all sources)
        self._fitted_to: Size | None = None  # the size the page's columns were fitted to

    def show_page(
        self,
        page: FilePage,
        *,
        source_names: dict[int, str] | None = None,
        cursor_at_end: bool = False,
        keep_cursor: bool = False,
    ) -> None:
        """Show `page`; with `source_names` (all sources shown) each row names its source.

        With `keep_cursor` (a refresh of the same view) the cursor stays on its file, else it
        starts at the top (or the end, when paging backwards). Columns are rebuilt each time,
        so their widths fit this page, not the widest page seen before.
        """
        cursor_row, cursor_key = self.cursor_row, current_key(self)
        self.page, self.source_names = page, source_names
        self.clear(columns=True)
        for layout in LAYOUTS:
            labels = [
                label
                for label in COLUMNS
                if label not in layout.dropped and (label != "Source" or source_names is not None)
            ]
            cells = [[self._cell(row, label, layout) for label in labels] for row in page.rows]
            path_at, widths = labels.index("Path"), column_widths(labels, cells)
            path_width = room_for(self, widths, len(cells), path_at)  # the others show whole
            if path_width >= MIN_PATH_WIDTH:
                break
        widths[path_at] = min(widths[path_at], max(path_width, MIN_PATH_WIDTH))
        for label, width in zip(labels, widths, strict=True):
            self.add_column(label, key=label.lower(), width=width)
        for row, row_cells in zip(page.rows, cells, strict=True):
            row_cells[path_at] = cut_left(row_cells[path_at], widths[path_at])
            self.add_row(*row_cells, key=str(row.id))
        if keep_cursor:
            restore_cursor(self, cursor_key, cursor_row)
        elif page.rows:
            self.move_cursor(row=len(page.rows) - 1 if cursor_at_end else 0)
        self._fitted_to = self.content_region.size

    # The path column takes what the others leave, so a new size (the chat opened or closed
    # beside the list) fits the page again. It is fitted when it is first drawn at that size:
    # fitted on the resize event, which comes after that drawing, every cell was drawn twice
    # (the old fit at the new size, then the new fit), most of what opening the chat cost.

    def render_lines(self, crop: Region) -> list[Strip]:
        self._fit()
        return super().render_lines(crop)

    def on_resize(self, event: Resize) -> None:
        # Instead of DataTable's own handler, which forgets every cell drawn: a page fitted to
        # this size was just drawn, or is drawn next.
        event.prevent_default()
        self._fit()

    def _fit(self) -> None:
        if self.page is not None and self._fitted_to != self.content_region.size:
            self.show_page(self.page, source_names=self.source_names, keep_cursor=True)

    def _cell(self, row: FileRow, label: str, layout: Layout) -> str:
        match label:
            case "Source":
                assert self.source_names is not None
                return self.source_names.get(row.source_id, "?")
            case "Path":
                return row.rel_path
            case "Tag":
                return _tag_label(row)
            case "Kind":
                return row.kind or ""
            case "Size":
                return format_bytes(row.size)
        return _time_label(row.mtime_ns, layout.modified)

    @property
    def current_file(self) -> FileRow | None:
        if self.page is None or not self.page.rows or self.cursor_row >= len(self.page.rows):
            return None
        return self.page.rows[self.cursor_row]

    def action_cursor_down(self) -> None:
        if self.page and self.page.has_more and self.cursor_row >= self.row_count - 1:
            self.post_message(self.PageWanted(+1))
        else:
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.page and self.page.offset > 0 and self.cursor_row == 0:
            self.post_message(self.PageWanted(-1))
        else:
            super().action_cursor_up()


def _tag_label(row: FileRow) -> str:
    if row.tag is None:
        return ""
    return row.tag if row.tag_source == "rule" else f"{row.tag} (manual)"


def _time_label(mtime_ns: int, time_format: str) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).strftime(time_format)


def page_label(page: FilePage | None, total: int | None, *, capped: bool = False) -> str:
    """'Files 1–200 of 1,234,567' — what the status line says about the page on screen.

    A `capped` total was counted up to COUNT_AT_MOST: above it, COUNT_AT_MOST + 1 reads
    "10,000+".
    """
    if page is None or not page.rows:
        return "No files match"
    first, last = page.offset + 1, page.offset + len(page.rows)
    if total is None:
        of = "…"
    elif capped and total > COUNT_AT_MOST:
        of = f"{COUNT_AT_MOST:,}+"
    else:
        of = f"{total:,}"
    return f"Files {first:,}–{last:,} of {of}"
