"""The Jobs screen's list: runs, the jobs of an expanded run under it, or the dead letters.

A line-API scroll view over a plain list of rows: only the lines on screen are drawn, so ten
thousand jobs cost a list of ten thousand small records, not ten thousand widgets or table
cells. A row is replaced by its key (`replace`) and redrawn only if it is on screen; inserting a
run's jobs or removing them touches the list, never the other rows' drawing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from casparian_tui.widgets.jobs_rows import Row, render

SCROLLBAR_CELLS = 1  # always shown: the rows are as wide with few as with many


class JobsList(ScrollView, can_focus=True):
    """Arrows, Page up/down and Home/End move the cursor; Enter selects the row under it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Expand", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"jobs-list--cursor"}
    DEFAULT_CSS = """
    JobsList { height: 1fr; overflow-x: hidden; overflow-y: scroll; scrollbar-size-vertical: 1; }
    JobsList > .jobs-list--cursor { background: $block-cursor-blurred-background; }
    JobsList:focus > .jobs-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    """

    class Highlighted(Message):
        def __init__(self, row: Row | None) -> None:
            super().__init__()
            self.row = row

    class Selected(Message):
        def __init__(self, row: Row) -> None:
            super().__init__()
            self.row = row

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._rows: list[Row] = []
        self._index: dict[str, int] = {}
        self.cursor = 0

    # Reading.

    @property
    def rows(self) -> Sequence[Row]:
        return self._rows

    @property
    def highlighted(self) -> Row | None:
        return self._rows[self.cursor] if self._rows else None

    def index_of(self, key: str) -> int:
        """The position of the row keyed `key` (KeyError when not listed)."""
        return self._index[key]

    def get(self, key: str) -> Row | None:
        index = self._index.get(key)
        return None if index is None else self._rows[index]

    # Changing the rows.

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Show `rows`, the cursor staying on the row it was on when that row is still there."""
        kept = self.highlighted
        self._rows = list(rows)
        self._reindex()
        self.cursor = self._index.get(kept.key, self.cursor) if kept else 0
        self._relayout()

    def replace(self, row: Row) -> bool:
        """Put `row` in place of the row with its key; redrawn if on screen. False: no such row."""
        index = self._index.get(row.key)
        if index is None:
            return False
        self._rows[index] = row
        self._refresh_row(index)
        if index == self.cursor:
            self.post_message(self.Highlighted(row))
        return True

    def insert_after(self, key: str, rows: Sequence[Row]) -> None:
        """Insert `rows` after the row keyed `key` (which must be listed)."""
        at = self._index[key] + 1
        self._rows[at:at] = rows
        if self.cursor >= at:
            self.cursor += len(rows)
        self._reindex()
        self._relayout()

    def remove_rows(self, keys: Iterable[str]) -> None:
        gone = set(keys)
        kept = self.highlighted
        self._rows = [row for row in self._rows if row.key not in gone]
        self._reindex()
        if kept is not None and kept.key in self._index:
            self.cursor = self._index[kept.key]
        self._relayout()

    def _reindex(self) -> None:
        self._index = {row.key: index for index, row in enumerate(self._rows)}

    def _relayout(self) -> None:
        self.cursor = max(0, min(self.cursor, len(self._rows) - 1))
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))
        self.refresh()
        self._show_cursor()
        self.post_message(self.Highlighted(self.highlighted))

    # The cursor.

    def move_to(self, key: str) -> None:
        if key in self._index:
            self._set_cursor(self._index[key])

    def action_move(self, step: int) -> None:
        self._set_cursor(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self._set_cursor(self.cursor + direction * max(1, self.scrollable_content_region.height))

    def action_jump(self, index: int) -> None:
        self._set_cursor(index if index >= 0 else len(self._rows) - 1)

    def action_select(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.Selected(self.highlighted))

    def on_click(self, event: Click) -> None:
        index = self.scroll_offset.y + event.y
        if 0 <= index < len(self._rows):
            if index == self.cursor:
                self.action_select()
            self._set_cursor(index)

    def _set_cursor(self, index: int) -> None:
        index = max(0, min(index, len(self._rows) - 1))
        if index == self.cursor or not self._rows:
            return
        previous, self.cursor = self.cursor, index
        self._refresh_row(previous)
        self._refresh_row(index)
        self._show_cursor()
        self.post_message(self.Highlighted(self.highlighted))

    def _show_cursor(self) -> None:
        if self._rows:
            region = Region(0, self.cursor, max(1, self.size.width), 1)
            self.scroll_to_region(region, animate=False, immediate=True)

    # Drawing.

    def _refresh_row(self, index: int) -> None:
        top = self.scroll_offset.y
        if top <= index < top + self.size.height:
            self.refresh(Region(0, index - top, self.size.width, 1))

    def refresh_visible(self) -> None:
        """Redraw the lines on screen (their times move on while jobs run)."""
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        text = render(self._rows[index], width, self._clock())
        if index == self.cursor:
            text.stylize(self._cursor_style())
        segments = list(text.render(self.app.console))
        return Strip(segments).adjust_cell_length(width, self.rich_style)

    def _cursor_style(self) -> Style:
        return self.get_component_rich_style("jobs-list--cursor")
