"""A modal that picks a file: from a list of candidates (type to filter) or any path typed in.

Enter takes the highlighted candidate; when no candidate matches what was typed, the text is
taken as a path (relative paths from the folder the app was started in). Esc cancels (None).
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from casparian_core.api import Candidate
from casparian_tui.widgets.bench_paths import short_path
from casparian_tui.widgets.filter_dropdown import move_highlight


class PathPickerScreen(ModalScreen[Path | None]):
    CSS_PATH = "../styles/parser_bench.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "cancel", "Close the picker", show=False),
        Binding("down", "move(1)", "Next file", show=False),
        Binding("up", "move(-1)", "Previous file", show=False),
    ]

    def __init__(self, title: str, candidates: list[Candidate], *, suffix: str = "") -> None:
        """`suffix` (e.g. ".py"): a typed path must end with it."""
        super().__init__()
        self.title_text = title
        self.candidates = candidates
        self.suffix = suffix

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-panel"):
            yield Static(self.title_text, id="picker-title")
            yield Input(placeholder="type to filter, or a path", id="picker-input")
            yield OptionList(id="picker-options")
            yield Static("", id="picker-error")
            keys = "[dim]Enter picks · ↑↓ move · Esc closes[/dim]"
            marks = "   [red]✗[/] failed before  [cyan]◆[/] tagged for this parser"
            yield Static(keys + (marks if self.candidates else ""), id="picker-hint")

    def on_mount(self) -> None:
        self._show_matches("")
        self.query_one(OptionList).display = bool(self.candidates)
        self.query_one(Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#picker-error", Static).update("")
        self._show_matches(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        option = self.query_one(OptionList).highlighted_option
        if option is not None and option.id is not None:
            self._pick(Path(option.id))
            return
        typed = event.value.strip()
        if typed:
            self._pick_typed(Path(typed).expanduser())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self._pick(Path(event.option.id))

    def action_move(self, step: int) -> None:
        move_highlight(self.query_one(OptionList), step)

    def action_cancel(self) -> None:
        if self.is_active:
            self.dismiss(None)

    def _show_matches(self, typed: str) -> None:
        wanted = typed.lower()
        options = self.query_one(OptionList)
        options.set_options(
            Option(_label(candidate), id=str(candidate.path))
            for candidate in self.candidates
            if wanted in str(candidate.path).lower()
        )
        if options.option_count:
            options.highlighted = 0

    def _pick_typed(self, path: Path) -> None:
        path = path.absolute()
        if not path.is_file():
            self._error(f"{short_path(path)}: no such file")
        elif self.suffix and path.suffix != self.suffix:
            self._error(f"{short_path(path)}: not a {self.suffix} file")
        else:
            self._pick(path)

    def _pick(self, path: Path) -> None:
        if self.is_active:
            self.dismiss(path)

    def _error(self, message: str) -> None:
        self.query_one("#picker-error", Static).update(Text(message, style="red"))


def _label(candidate: Candidate) -> Text:
    return Text.assemble(
        ("✗ " if candidate.failed_before else "  ", "red"),
        ("◆ " if candidate.topic_bound else "  ", "cyan"),
        short_path(candidate.path),
    )
