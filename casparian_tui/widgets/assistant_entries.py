"""What the assistant's conversation is made of on screen: the user's messages, the model's
answers (Markdown, streamed), tool calls, approval cards, errors and notes."""

from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Collapsible, Markdown, Static
from textual.widgets.markdown import MarkdownStream

from casparian_core.api import (
    ActionKind,
    ActionStatus,
    AssistantFailure,
    FailureKind,
    PendingAction,
)

FILE_KINDS = frozenset({ActionKind.WRITE_PARSER, ActionKind.PATCH_PARSER})
# Failures a retry cannot cure: the user has to change a setting first.
NOT_RETRYABLE = frozenset({FailureKind.NOT_CONFIGURED, FailureKind.DISABLED})
DECIDED_LABELS = {
    ActionStatus.APPROVED: ("Approved", "green"),
    ActionStatus.REJECTED: ("Rejected: nothing was changed", "yellow"),
    ActionStatus.FAILED: ("Approved, but applying it failed", "red"),
}


class UserMessage(Static):
    def __init__(self, text: str) -> None:
        super().__init__(Text(text), classes="chat-user")


class NoteView(Static):
    def __init__(self, text: str) -> None:
        super().__init__(Text(text), classes="chat-note")


class AnswerBlock(Markdown):
    """One text block of an answer. While it streams, fragments go through one MarkdownStream,
    which batches whatever arrived while the last render ran: never a re-render per token."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text, classes="chat-answer")
        self._stream: MarkdownStream | None = None

    async def add(self, fragment: str) -> None:
        if self._stream is None:
            self._stream = self.get_stream(self)
        await self._stream.write(fragment)

    async def finish(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None


class ToolCallView(Collapsible):
    """`name → summary` on one line, collapsed; expanded, the arguments and the whole summary."""

    def __init__(self, name: str, arguments: dict[str, object]) -> None:
        self.tool_name = name
        self.arguments = arguments
        self.summary: str | None = None
        self.failed = False
        self._details_view = Static(self._details(), classes="tool-details")
        super().__init__(self._details_view, title=self._call_title(), classes="chat-tool")

    def show_result(self, summary: str, failed: bool) -> None:
        self.summary, self.failed = summary, failed
        self.title = self._call_title()
        self.set_class(failed, "failed")
        self._details_view.update(self._details())

    def _call_title(self) -> str:
        if self.summary is None:
            return f"{self.tool_name}: running…"
        return f"{self.tool_name} {'✗' if self.failed else '→'} {self.summary}"

    def _details(self) -> Text:
        text = Text(json.dumps(self.arguments, indent=2, default=str))
        if self.summary is not None:
            text.append(f"\n{'failed: ' if self.failed else ''}{self.summary}", style="italic")
        return text


class ActionCard(Vertical, can_focus=True):
    """A change the model proposed, with its exact effect; `y` approves, `n` rejects."""

    BINDINGS = [  # noqa: RUF012
        Binding("y", "decide(True)", "Approve"),
        Binding("n", "decide(False)", "Reject"),
    ]

    class Decided(Message):
        def __init__(self, action_id: str, approve: bool) -> None:
            super().__init__()
            self.action_id = action_id
            self.approve = approve

    def __init__(self, action: PendingAction) -> None:
        super().__init__(classes="chat-action")
        self.action = action
        self._deciding = False

    def compose(self) -> ComposeResult:
        yield Static(self._heading(), classes="action-heading")
        yield Static(_effect_text(self.action), classes="action-effect")
        yield Static(self._state(), classes="action-state")

    def show(self, action: PendingAction) -> None:
        self.action, self._deciding = action, False
        self.query_one(".action-state", Static).update(self._state())
        self.set_class(action.status is not ActionStatus.PENDING, "decided")
        self.refresh_bindings()

    @property
    def pending(self) -> bool:
        return self.action.status is ActionStatus.PENDING and not self._deciding

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.pending if action == "decide" else True

    def action_decide(self, approve: bool) -> None:
        self._deciding = True
        self.query_one(".action-state", Static).update(
            Text("Applying…" if approve else "Rejecting…", style="bold")
        )
        self.refresh_bindings()
        self.post_message(self.Decided(self.action.id, approve))

    def _heading(self) -> Text:
        return Text.assemble(("Proposed: ", "bold"), self.action.summary)

    def _state(self) -> Text:
        action = self.action
        if action.status is ActionStatus.PENDING:
            return Text.assemble(("y", "bold"), " approve · ", ("n", "bold"), " reject")
        label, style = DECIDED_LABELS[action.status]
        text = Text(label, style=f"bold {style}")
        if action.outcome and action.outcome.rstrip(".") != label:  # a rejection says it once
            text.append(f"\n{action.outcome}", style="")
        return text


def _effect_text(action: PendingAction) -> Text:
    """The diff coloured as diffs are (a new file is all additions); other effects as written."""
    if action.kind not in FILE_KINDS:
        return Text(action.effect)
    text = Text()
    for line in action.effect.splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        text.append(line + "\n", style=style)
    text.rstrip()
    return text


class ErrorView(Static):
    """What went wrong, in red, and how to go on."""

    def __init__(self, failure: AssistantFailure) -> None:
        super().__init__(classes="chat-error")
        self.failure = failure
        self.retryable = failure.kind not in NOT_RETRYABLE
        self.update(self._text())

    def outdate(self) -> None:
        """A later turn began: retrying now would re-send something else."""
        if self.retryable:
            self.retryable = False
            self.update(self._text())

    def _text(self) -> Text:
        text = Text(self.failure.message, style="red")
        if self.failure.retry_after_secs is not None:
            text.append(f" (the service asks to wait {self.failure.retry_after_secs:g} s)")
        if self.retryable:
            text.append("\n")
            text.append("Ctrl+R", style="bold")
            text.append(" retries")
        return text
