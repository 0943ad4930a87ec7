"""The approval screen of a registration: what would be stored and each output's contract,
the same lines `casparian parser register` prints. `y` approves and registers, `n`/Esc not."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ApprovalScreen(ModalScreen[bool]):
    BINDINGS = [  # noqa: RUF012
        Binding("y", "answer(True)", "Approve", show=False),
        Binding("n,escape", "answer(False)", "Cancel", show=False),
    ]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="approval"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll(id="approval-contracts"):
                yield Static(Text("\n".join(self.lines)))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Approve and register (y)", variant="primary", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        if self.is_active:
            self.dismiss(answer)
