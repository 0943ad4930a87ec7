"""What every mode screen shares: a title bar, the footer, and an empty state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from casparian_tui.modes import MODES_BY_NAME

COMPACT_FOOTER_BELOW = 100  # columns

if TYPE_CHECKING:
    from textual import getters

    from casparian_tui.app import CasparianApp


class TitleBar(Static):
    """One line: the product, the mode, and the keys that reach it."""

    def __init__(self, mode_name: str) -> None:
        mode = MODES_BY_NAME[mode_name]
        super().__init__(f"[b]Casparian Flow[/b] › {mode.title}   [dim]{mode.keys_label}[/dim]")


class EmptyState(Static):
    """A centred message telling the user how to fill an empty screen."""


class ModeScreen(Screen[None]):
    """Base of the mode screens. Subclasses set MODE and compose their body."""

    MODE = "home"

    if TYPE_CHECKING:  # the mode screens run in CasparianApp, whose `service` they use
        app = getters.app(CasparianApp)

    def compose(self) -> ComposeResult:
        yield TitleBar(self.MODE)
        yield from self.compose_body()
        yield Footer()

    def on_resize(self, event: Resize) -> None:
        # A narrow terminal gets the compact footer and no palette hint (Ctrl+p still works,
        # `?` lists it): every key of the screen stays on the line.
        footer = self.query_one(Footer)
        footer.compact = event.size.width < COMPACT_FOOTER_BELOW
        footer.show_command_palette = event.size.width >= COMPACT_FOOTER_BELOW

    def compose_body(self) -> ComposeResult:
        yield from ()


class EmptyModeScreen(ModeScreen):
    """A mode whose content has not been built yet shows how to get data into it."""

    EMPTY_TEXT = ""

    def compose_body(self) -> ComposeResult:
        with Middle(), Center():
            yield EmptyState(self.EMPTY_TEXT, classes="empty-state")
