"""The assistant's input box: Enter sends, Shift+Enter (or Ctrl+J) starts a new line, Up and Down
recall earlier inputs.

Shift+Enter reaches an app only from terminals that speak the kitty keyboard protocol (kitty,
WezTerm, foot, Ghostty, iTerm2 with CSI u); elsewhere, tmux included, it arrives as a plain Enter.
Ctrl+J always arrives as its own key (a line feed, where Enter is a carriage return), so it is the
newline key everywhere.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

APP_FUNCTION_KEY_ACTIONS = frozenset({"select_line", "select_all"})


class ChatInput(TextArea):
    """A few lines of text; what was sent is kept for recall."""

    BINDINGS = [  # noqa: RUF012
        Binding("enter", "send", "Send", show=False),
        Binding("shift+enter,ctrl+j", "newline", "New line", show=False),
        Binding("up", "recall(-1)", "Earlier input (on the first line)", show=False),
        Binding("down", "recall(1)", "Later input (on the last line)", show=False),
        # PageUp/PageDown scroll the conversation, not the few lines of this box.
        Binding("pageup", "scroll_chat(-1)", "Scroll the chat", show=False),
        Binding("pagedown", "scroll_chat(1)", "Scroll the chat", show=False),
    ]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class ScrollWanted(Message):
        """PageUp (-1) or PageDown (+1) pressed in the box."""

        def __init__(self, pages: int) -> None:
            super().__init__()
            self.pages = pages

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, compact=True)
        self.sent: list[str] = []
        self._recalled: int | None = None  # index into `sent` while recalling
        self._draft = ""  # what was typed before recalling started

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # TextArea selects with F6 and F7; here they are the app's keys (Jobs, the chat).
        return action not in APP_FUNCTION_KEY_ACTIONS and super().check_action(action, parameters)

    async def _on_key(self, event: events.Key) -> None:
        # Runs before TextArea's own handler (Textual walks the classes), which would insert
        # both of these keys as text.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_send()
        elif event.key.startswith("alt+"):
            # Alt+letter arrives with its letter as the character: it is an app key (Alt+a
            # closes the chat, Alt+d opens Discover), never text. Without a character the
            # box leaves it to the bindings.
            event.character = None

    def action_send(self) -> None:
        text = self.text.strip()
        if text:
            self.post_message(self.Submitted(text))

    def action_newline(self) -> None:
        # As typing does: the selection is replaced and the cursor goes to the new line.
        self.replace("\n", *self.selection, maintain_selection_offset=False)

    def action_recall(self, step: int) -> None:
        """Up on the first line shows the input sent before, Down on the last the one after;
        elsewhere they move the cursor."""
        row = self.cursor_location[0]
        at_edge = row == 0 if step < 0 else row == self.document.line_count - 1
        if not (at_edge and self._recall(step)):
            self.action_cursor_up() if step < 0 else self.action_cursor_down()

    def remember(self, text: str) -> None:
        """`text` was sent: clear the box and make it the latest to recall."""
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._recalled = None
        self.clear()

    def prefill(self, text: str) -> None:
        self._recalled = None
        self.load_text(text)
        self.move_cursor(self.document.end)

    def _recall(self, step: int) -> bool:
        """Show the input `step` away from the one shown; False when there is none."""
        if self._recalled is None:
            if step > 0 or not self.sent:
                return False  # already at the newest: nothing below
            self._draft = self.text
            index = len(self.sent) - 1
        else:
            index = self._recalled + step
        if index < 0:
            return True  # the oldest stays
        if index >= len(self.sent):
            self._recalled = None
            self.load_text(self._draft)
        else:
            self._recalled = index
            self.load_text(self.sent[index])
        self.move_cursor(self.document.end)
        return True

    def action_scroll_chat(self, pages: int) -> None:
        self.post_message(self.ScrollWanted(pages))
