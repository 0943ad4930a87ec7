"""The `?` overlay: the keys that work right now, generated from the active bindings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


@dataclass(frozen=True)
class KeyHelp:
    keys: str
    description: str


def describe_bindings(bindings: Iterable[ActiveBinding]) -> list[KeyHelp]:
    """One line per action, all its keys together, in the order the bindings were declared."""
    keys_by_action: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    for active in bindings:
        binding = active.binding
        if not (binding.description and active.enabled and _is_ours(active)):
            continue
        action = f"{binding.action}@{id(active.node)}"
        keys_by_action.setdefault(action, []).append(_key_label(binding))
        descriptions[action] = binding.description
    return [KeyHelp(" / ".join(keys), descriptions[a]) for a, keys in keys_by_action.items()]


def _is_ours(active: ActiveBinding) -> bool:
    """Declared by one of this app's classes. Textual's own keys (scrolling, table cursors,
    copy) are the same in every app: the overlay lists what is particular to this screen."""
    binding = active.binding
    for cls in type(active.node).__mro__:
        if not cls.__module__.startswith("casparian_tui"):
            continue
        for declared in cls.__dict__.get("BINDINGS", ()):
            if (
                isinstance(declared, Binding)
                and declared.action == binding.action
                and binding.key in declared.key.split(",")
            ):
                return True
    return False


def _key_label(binding: Binding) -> str:
    if binding.key_display:
        return binding.key_display
    parts = binding.key.split("+")
    return "+".join(p.capitalize() if len(p) > 1 else p for p in parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
        Binding("f1", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, keys: list[KeyHelp]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key in self.keys:
            table.add_row(key.keys, key.description)
        with VerticalScroll(id="help-panel"):
            yield Static("[b]Keys[/b]   [dim]Esc, ? or F1 closes[/dim]", id="help-title")
            yield Static(table, id="help-keys")

    def action_close(self) -> None:
        if self.is_active:
            self.dismiss()
