"""A type-to-filter dropdown (telescope style): a closed line showing the choice, or, when open,
a filter box over a list. Moving through the list reports each highlighted value at once, so the
screen can follow live; Enter confirms, Esc restores the value it had when opened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

T = TypeVar("T")


@dataclass(frozen=True)
class Choice(Generic[T]):
    label: str  # what the list shows, and what typing filters on
    value: T
    detail: str = ""  # shown dim after the label, not filtered on (e.g. a count)


class FilterDropdown(Vertical, Generic[T]):
    BINDINGS = [  # noqa: RUF012
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
        Binding("enter", "choose", "Choose", show=False),
        Binding("escape", "close", "Close list", show=False),
    ]

    class Highlighted(Message):
        def __init__(self, dropdown: FilterDropdown, value: object) -> None:
            super().__init__()
            self.dropdown = dropdown
            self.value = value

    class Chosen(Highlighted):
        """Enter (or a click) confirmed `value`."""

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(id=id, classes="dropdown")
        self.title = title
        self.choices: list[Choice[T]] = []
        self.selected: Choice[T] | None = None
        self._before_open: Choice[T] | None = None
        self._shown: list[Choice[T]] = []

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="dropdown-title")
        yield Static("", classes="dropdown-current")
        yield Input(placeholder="type to filter", classes="dropdown-filter")
        yield OptionList(classes="dropdown-list")

    def on_mount(self) -> None:
        self.set_class(False, "open")

    @property
    def is_open(self) -> bool:
        return self.has_class("open")

    def set_choices(self, choices: list[Choice[T]], selected_value: object) -> None:
        """Replace the list; keep `selected_value` chosen if it is still there, else the first."""
        self.choices = choices
        self.selected = next((c for c in choices if c.value == selected_value), None) or (
            choices[0] if choices else None
        )
        self._render_current()
        if self.is_open:
            self._filter(self.query_one(Input).value)

    def open(self) -> None:
        self._before_open = self.selected
        self.add_class("open")
        self.query_one(Input).value = ""
        self._filter("")
        self.query_one(Input).focus()

    def action_close(self) -> None:
        """Esc: put back the choice from before opening, and tell the screen to follow it."""
        self.remove_class("open")
        if self._before_open is not None and self._before_open != self.selected:
            self.selected = self._before_open
            self._render_current()
            self.post_message(self.Highlighted(self, self.selected.value))
        self.post_message(self.Chosen(self, self.selected.value if self.selected else None))

    def action_move(self, step: int) -> None:
        move_highlight(self.query_one(OptionList), step)

    def action_choose(self) -> None:
        if not self.is_open:
            self.open()
            return
        self.remove_class("open")
        self._render_current()
        self.post_message(self.Chosen(self, self.selected.value if self.selected else None))

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index < len(self._shown):
            choice = self._shown[event.option_index]
            if choice != self.selected:
                self.selected = choice
                self._render_current()
                self.post_message(self.Highlighted(self, choice.value))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_choose()

    def _filter(self, text: str) -> None:
        needle = text.casefold()
        self._shown = [c for c in self.choices if needle in c.label.casefold()]
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(_label(c)) for c in self._shown])
        if self._shown:
            index = self._shown.index(self.selected) if self.selected in self._shown else 0
            options.highlighted = index

    def _render_current(self) -> None:
        current = self.query_one(".dropdown-current", Static)
        current.update(_label(self.selected) if self.selected else Text("(none)", style="dim"))


def move_highlight(options: OptionList, step: int) -> None:
    """Arrow keys typed in a filter box move the list's highlight below it."""
    if step > 0:
        options.action_cursor_down()
    else:
        options.action_cursor_up()


def _label(choice: Choice[Any]) -> Text:
    text = Text(choice.label)
    if choice.detail:
        text.append(f"  {choice.detail}", style="dim")
    return text
