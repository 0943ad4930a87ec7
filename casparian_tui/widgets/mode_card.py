"""A Home Hub card: one mode, its keys, its live numbers. Click, Enter or its digit opens it."""

from __future__ import annotations

from textual.binding import Binding
from textual.events import Click
from textual.message import Message
from textual.widgets import Static

from casparian_tui.modes import Mode


class ModeCard(Static, can_focus=True):
    # On the card itself, so they win over the scrolling container's arrow keys.
    BINDINGS = [  # noqa: RUF012
        Binding("enter", "open", "Open mode", show=False),
        Binding("up", "screen.move(-2)", "Card above", show=False),
        Binding("down", "screen.move(2)", "Card below", show=False),
        Binding("left", "screen.move(-1)", "Card left", show=False),
        Binding("right", "screen.move(1)", "Card right", show=False),
    ]

    class Opened(Message):
        def __init__(self, mode: Mode) -> None:
            super().__init__()
            self.mode = mode

    def __init__(self, mode: Mode, number: int) -> None:
        super().__init__(id=f"card-{mode.name}", classes="mode-card")
        self.mode = mode
        self.number = number  # the digit that opens it from the Home Hub
        self.summary = "…"

    def show_summary(self, summary: str) -> None:
        self.summary = summary
        self.update(self._render_text())

    def on_mount(self) -> None:
        self.update(self._render_text())

    def _render_text(self) -> str:
        return (
            f"[b]{self.mode.title}[/b]\n[dim]{self.number} · {self.mode.keys_label}[/dim]\n\n"
            f"[b $accent]{self.summary}[/]\n[dim]{self.mode.purpose}[/dim]"
        )

    def action_open(self) -> None:
        self.post_message(self.Opened(self.mode))

    def on_click(self, _event: Click) -> None:
        self.action_open()
