"""The Discover file list: one page of the catalogue at a time, never the whole of it.

The list holds PAGE_SIZE rows. Moving down past the last row asks for the next page, up past
the first row for the previous one; the screen fetches pages from CoreService, so a million-file
source costs the same as a small one.

It is a line-API scroll view, not a DataTable: only the lines on screen are drawn, from cells
made once per page and layout. A DataTable measured and re-rendered every cell of the page each
time its width changed (the chat opening or closing beside it), which was most of what opening
the chat cost on Discover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from casparian_core.api import FilePage, FileRow, format_bytes
from casparian_tui.widgets.bench_paths import cut_left
from casparian_tui.widgets.table_fit import column_widths

PAGE_SIZE = 200
# With a text filter the status line counts matches up to here: an exact count of a
# million-row substring match reads every path (~200 ms), past the 100 ms a keystroke may take.
# A source or tag alone is counted exactly, from the index (as the sidebar's numbers are).
COUNT_AT_MOST = 10_000
MIN_PATH_WIDTH = 16  # below this the path is unreadable: the list scrolls sideways instead
CELL_PADDING = 1  # blank cells each side of a column, as a DataTable draws them
HEADER_LINES = 1


COLUMNS = ("Source", "Path", "Tag", "Kind", "Size", "Modified")  # Source: all sources shown
FULL_TIME, DAY = "%Y-%m-%d %H:%M", "%Y-%m-%d"


@dataclass(frozen=True)
class Layout:
    """The columns a width affords: all but `dropped`, Modified written with `modified`."""

    dropped: frozenset[str]
    modified: str = DAY


# Widest first: the first that leaves the path MIN_PATH_WIDTH wins (at 120 columns the first,
# at 80 the third, beside an open preview the path alone: the preview tells the rest); past the
# last the list scrolls sideways.
LAYOUTS = (
    Layout(frozenset(), FULL_TIME),
    Layout(frozenset()),
    Layout(frozenset({"Kind"})),
    Layout(frozenset({"Kind", "Modified"})),
    Layout(frozenset({"Kind", "Modified", "Size"})),
    Layout(frozenset({"Kind", "Modified", "Size", "Tag"})),
    Layout(frozenset({"Kind", "Modified", "Size", "Tag", "Source"})),
)


@dataclass(frozen=True)
class Columns:
    """One layout's columns for the page: labels, each row's cells, each column's width (the
    path's uncut)."""

    labels: list[str]
    cells: list[list[str]]
    widths: list[int]

    @property
    def path_at(self) -> int:
        return self.labels.index("Path")

    def width_beside_path(self) -> int:
        """The cells every column but the path takes, padding included."""
        return sum(w + 2 * CELL_PADDING for i, w in enumerate(self.widths) if i != self.path_at)


@dataclass(frozen=True)
class Fit:
    """The columns shown at one width: which, how wide (the path cut to fit), and the cells."""

    columns: Columns
    widths: list[int]
    room: int  # the width it was fitted to

    @property
    def total_width(self) -> int:
        return sum(width + 2 * CELL_PADDING for width in self.widths)

    def cells(self, index: int) -> list[str]:
        cells = list(self.columns.cells[index])
        at = self.columns.path_at
        cells[at] = cut_left(cells[at], self.widths[at])
        return cells


class FileTable(ScrollView, can_focus=True):
    """Arrows, Page up/down and Home/End move the cursor, Left/Right scroll a list wider than
    the pane; a click puts the cursor on a row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,ctrl+home", "jump(0)", "First", show=False),
        Binding("end,ctrl+end", "jump(-1)", "Last", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "file-table--header",
        "file-table--even-row",
        "file-table--cursor",
    }
    # A DataTable's look: the header on $panel, zebra stripes, the block cursor.
    DEFAULT_CSS = """
    FileTable {
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .file-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .file-table--header { background-tint: $foreground 5%; }
        }
        &:dark > .file-table--even-row { background: $surface-darken-1 40%; }
        & > .file-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .file-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .file-table--even-row { background: $surface-lighten-1 50%; }
        & > .file-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class PageWanted(Message):
        """The cursor ran off one end of the page: `step` is +1 (next) or -1 (previous)."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    class Highlighted(Message):
        """The cursor moved to `row` (None: the page is empty)."""

        def __init__(self, row: FileRow | None) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.page: FilePage | None = None
        self.source_names: dict[int, str] | None = None  # set: a Source column (all sources)
        self.cursor_row = 0
        self._columns: dict[Layout, Columns] = {}  # this page's cells, per layout tried
        self._fit: Fit | None = None

    def show_page(
        self,
        page: FilePage,
        *,
        source_names: dict[int, str] | None = None,
        cursor_at_end: bool = False,
        keep_cursor: bool = False,
    ) -> None:
        """Show `page`; with `source_names` (all sources shown) each row names its source.

        With `keep_cursor` (a refresh of the same view) the cursor stays on its file (or near
        where it was when the file is gone), else it starts at the top (or the end, when paging
        backwards). Columns fit this page, not the widest page seen before.
        """
        kept = self.current_file
        self.page, self.source_names = page, source_names
        self._columns, self._fit = {}, None
        ids = [row.id for row in page.rows]
        if keep_cursor and kept is not None and kept.id in ids:
            self.cursor_row = ids.index(kept.id)
        elif not keep_cursor:
            self.cursor_row = len(ids) - 1 if cursor_at_end else 0
        self.cursor_row = max(0, min(self.cursor_row, len(ids) - 1))
        self.virtual_size = Size(self.virtual_size.width, len(ids) + HEADER_LINES)
        self.refresh()
        self._show_cursor()

    # Reading.

    @property
    def row_count(self) -> int:
        return len(self.page.rows) if self.page else 0

    @property
    def current_file(self) -> FileRow | None:
        if self.page is None or not self.page.rows or self.cursor_row >= len(self.page.rows):
            return None
        return self.page.rows[self.cursor_row]

    @property
    def labels(self) -> list[str]:
        """The columns shown at the present width."""
        return self._fitted().columns.labels

    @property
    def columns_width(self) -> int:
        """The cells the shown columns take, padding included."""
        return self._fitted().total_width

    def get_row_at(self, index: int) -> list[str]:
        """Row `index`'s cells as shown (the path cut to its column)."""
        return self._fitted().cells(index)

    def get_row(self, file_id: int) -> list[str]:
        """The cells of the row of file `file_id` as shown."""
        assert self.page is not None
        return self.get_row_at([row.id for row in self.page.rows].index(file_id))

    # Fitting the columns to the width: done when a line is drawn at a new width, never
    # before (a fit on the resize event came after that drawing, and drew every line twice).

    def _fitted(self) -> Fit:
        room = self.scrollable_content_region.width
        if self._fit is None or self._fit.room != room:
            self._fit = self._fit_to(room)
            width = max(self._fit.total_width, 0)
            if self.virtual_size.width != width:
                self.virtual_size = Size(width, self.row_count + HEADER_LINES)
        return self._fit

    def _fit_to(self, room: int) -> Fit:
        for layout in LAYOUTS:
            columns = self._columns_for(layout)
            path_width = room - columns.width_beside_path() - 2 * CELL_PADDING
            if path_width >= MIN_PATH_WIDTH:
                break
        widths = list(columns.widths)
        widths[columns.path_at] = min(widths[columns.path_at], max(path_width, MIN_PATH_WIDTH))
        return Fit(columns, widths, room)

    def _columns_for(self, layout: Layout) -> Columns:
        if layout not in self._columns:
            labels = [
                label
                for label in COLUMNS
                if label not in layout.dropped
                and (label != "Source" or self.source_names is not None)
            ]
            rows = self.page.rows if self.page else []
            cells = [[self._cell(row, label, layout) for label in labels] for row in rows]
            self._columns[layout] = Columns(labels, cells, column_widths(labels, cells))
        return self._columns[layout]

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

    # Drawing.

    def render_line(self, y: int) -> Strip:
        fit = self._fitted()
        width, scroll_x = self.scrollable_content_region.width, self.scroll_offset.x
        if y < HEADER_LINES:
            cells, style = fit.columns.labels, self._style("file-table--header")
        else:
            index = self.scroll_offset.y + y - HEADER_LINES
            if index >= self.row_count:
                return Strip.blank(width, self.rich_style)
            cells, style = fit.cells(index), self._row_style(index)
        # A line's look runs to the pane's edge, past its last column, as a DataTable's does.
        return self._line(cells, fit.widths, style).crop_extend(scroll_x, scroll_x + width, style)

    def _line(self, cells: list[str], widths: list[int], style: Style) -> Strip:
        pad = " " * CELL_PADDING
        text = "".join(
            pad + cell + " " * (width - cell_len(cell)) + pad
            for cell, width in zip(cells, widths, strict=True)
        )
        return Strip([Segment(text, style)], cell_len(text))

    def _row_style(self, index: int) -> Style:
        style = self.rich_style
        if index % 2 == 0:
            style += self._style("file-table--even-row")
        if index == self.cursor_row:
            style += self._style("file-table--cursor")
        return style

    def _style(self, name: str) -> Style:
        return self.rich_style + self.get_component_rich_style(name)

    # The cursor.

    def move_cursor(self, *, row: int) -> None:
        self._set_cursor(row)

    def action_move(self, step: int) -> None:
        page = self.page
        if page and step > 0 and page.has_more and self.cursor_row >= self.row_count - 1:
            self.post_message(self.PageWanted(+1))
        elif page and step < 0 and page.offset > 0 and self.cursor_row == 0:
            self.post_message(self.PageWanted(-1))
        else:
            self._set_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        rows_shown = max(1, self.scrollable_content_region.height - HEADER_LINES)
        self._set_cursor(self.cursor_row + direction * rows_shown)

    def action_jump(self, index: int) -> None:
        self._set_cursor(index if index >= 0 else self.row_count - 1)

    def on_click(self, event: Click) -> None:
        if event.y >= HEADER_LINES:
            self._set_cursor(self.scroll_offset.y + event.y - HEADER_LINES)

    def _set_cursor(self, index: int) -> None:
        index = max(0, min(index, self.row_count - 1))
        if index == self.cursor_row or not self.row_count:
            return
        previous, self.cursor_row = self.cursor_row, index
        self._refresh_row(previous)
        self._refresh_row(index)
        self._show_cursor()
        self.post_message(self.Highlighted(self.current_file))

    def _show_cursor(self) -> None:
        """Scroll so the cursor's row is below the header and on screen."""
        rows_shown = max(1, self.scrollable_content_region.height - HEADER_LINES)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            top = self.cursor_row
        elif self.cursor_row >= top + rows_shown:
            top = self.cursor_row - rows_shown + 1
        if top != self.scroll_offset.y:
            self.scroll_to(y=top, animate=False, immediate=True)

    def _refresh_row(self, index: int) -> None:
        self.refresh_line(index + HEADER_LINES)  # its line in the virtual list


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
