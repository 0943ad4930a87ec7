"""The Parser Bench's list of parsers: health icon, name, version, topics; unusable ones in red."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from casparian_core.api import BenchParser
from casparian_tui.widgets.bench_paths import cut_left, short_path, shorten_paths

HEALTH_ICONS = {
    "passed": ("✓", "green"),
    "warn": ("⚠", "yellow"),
    "failed": ("✗", "red"),
    "never": ("·", "dim"),
}


class ParserList(OptionList):
    """One option per parser file; the option id is the parser file's path."""

    # OptionList's own Enter, described, so the help overlay says what it does here.
    BINDINGS = [Binding("enter", "select", "Test on a file", show=False)]  # noqa: RUF012

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.parsers: dict[str, BenchParser] = {}

    def show(self, parsers: list[BenchParser]) -> None:
        """Replace the list, keeping the highlight on the same parser when it is still there."""
        current = self.highlighted_parser
        self.parsers = {str(parser.parser.path): parser for parser in parsers}
        self.set_options(Option(_label(parser), id=key) for key, parser in self.parsers.items())
        if not parsers:
            return
        keys = list(self.parsers)
        current_key = None if current is None else str(current.parser.path)
        self.highlighted = keys.index(current_key) if current_key in self.parsers else 0

    @property
    def highlighted_parser(self) -> BenchParser | None:
        option = self.highlighted_option
        return None if option is None or option.id is None else self.parsers.get(option.id)


def _label(parser: BenchParser) -> Text:
    icon, style = HEALTH_ICONS[parser.health]
    label = Text.assemble((icon, style), " ")
    info = parser.parser.info
    if info is None:
        label.append(parser.name, style="red")
        label.append("  unusable", style="red italic")
        return label
    label.append(parser.name, style="bold")
    label.append(f" {info.version}", style="dim")
    if info.topics:
        label.append(f"  {', '.join(info.topics)}", style="cyan")
    return label


class ParserDetail(Static):
    """What the highlighted parser is: its file, its last test, or why it cannot be used.

    The file's path is cut from the left to the pane's width, so its name stays in view."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._parser: BenchParser | None = None

    def show(self, parser: BenchParser | None) -> None:
        self._parser = parser
        self._show()

    def on_resize(self) -> None:
        self._show()

    def _show(self) -> None:
        parser = self._parser
        if parser is None:
            self.update("")
            return
        path = short_path(parser.parser.path)
        width = self.content_region.width
        text = Text(cut_left(path, width) if width else path, style="dim")
        if parser.parser.error is not None:
            text.append("\n" + shorten_paths(parser.parser.error), style="red")
        elif parser.last_tested_at is not None:
            text.append(f"\ntested {parser.last_tested_at[:16].replace('T', ' ')} UTC")
        else:
            text.append("\nnot tested yet: press t")
        self.update(text)
