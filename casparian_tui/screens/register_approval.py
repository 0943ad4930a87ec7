"""The approval screen of a registration: what would be stored and each output's contract,
the same lines `casparian parser register` prints. `y` approves and registers, `n`/Esc not."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from casparian_tui.screens.prompt import ConfirmPrompt


class ApprovalScreen(ConfirmPrompt):
    """A ConfirmPrompt whose question is followed by the contracts, scrolled when long."""

    def __init__(self, title: str, lines: list[str], label: str = "Approve and register") -> None:
        super().__init__(title, label)
        self.lines = lines

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="approval"):
            yield Static(self.question, classes="dialog-title")
            with VerticalScroll(id="approval-contracts"):
                yield Static(Text("\n".join(self.lines)))
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.confirm_label} (y)", variant="primary", id="yes")
                yield Button("Cancel (n)", id="no")
