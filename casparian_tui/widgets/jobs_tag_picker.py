"""Picking the tag whose files the Jobs screen processes: the home's tags with their file counts.
Enter picks the highlighted tag, Esc cancels (None)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class TagPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]  # noqa: RUF012

    def __init__(self, tags: list[tuple[str, int]]) -> None:
        super().__init__(classes="dialog-screen")
        self.tags = tags

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                "[b]Process a tag's files[/b]: each file is run by the registered parsers whose"
                " topics include its tag (those their latest version has not processed yet)",
                classes="dialog-title",
            )
            yield OptionList(
                *(
                    Option(f"{tag}  [dim]{count:,} file{'s' if count != 1 else ''}[/dim]", id=tag)
                    for tag, count in self.tags
                ),
                id="tag-options",
            )
            yield Static("[dim]Enter to process · Esc to cancel[/dim]", classes="dialog-hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.is_active:
            self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        if self.is_active:
            self.dismiss(None)
