"""The assistant sidebar: one conversation (`service.assistant`) shown in every mode's screen.

Each mode screen has its own sidebar, all drawing the same conversation. The one on the current
screen follows the core's events as they come; the others notice they fell behind and redraw
from `assistant.transcript()` when their screen comes back. Events are published from any
thread; the subscription only posts a message, so everything that touches widgets (the Markdown
stream included) runs on the app's loop, in the order the events were published.

Each event is numbered as it is published. A redraw remembers the number of the last event
published before it read the transcript; queued events up to that number are already drawn.
"""

from __future__ import annotations

import itertools
import sys
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static

from casparian_core.api import (
    ActionEntry,
    ActionStatus,
    AssistantContext,
    ErrorEntry,
    PendingAction,
    TextEntry,
    ToolCallEntry,
    TranscriptEntry,
    UserEntry,
)
from casparian_core.events import (
    AssistantActionChanged,
    AssistantFailed,
    AssistantNote,
    AssistantText,
    AssistantToolCall,
    AssistantToolResult,
    AssistantTurnEnded,
    AssistantTurnResumed,
    AssistantTurnStarted,
    Event,
)
from casparian_tui.widgets.assistant_entries import (
    ActionCard,
    AnswerBlock,
    ErrorView,
    NoteView,
    ToolCallView,
    UserMessage,
)
from casparian_tui.widgets.assistant_input import ChatInput
from casparian_tui.widgets.assistant_tail import DRAWN_CHARS, earlier_label, tail

if TYPE_CHECKING:
    from casparian_tui.app import CasparianApp

ASSISTANT_EVENTS = (
    AssistantTurnStarted,
    AssistantTurnResumed,
    AssistantText,
    AssistantToolCall,
    AssistantToolResult,
    AssistantActionChanged,
    AssistantFailed,
    AssistantNote,
    AssistantTurnEnded,
)
KEYS_HINT = "Enter sends · Ctrl+J new line"
BUSY_HINT = "Answering…  Ctrl+G stops"


class AssistantEvent(Message):
    """One of the core's assistant events, numbered in the order it was published."""

    def __init__(self, event: Event, number: int) -> None:
        super().__init__()
        self.event = event
        self.number = number


class StarterPanel(Vertical):
    """The empty conversation: what the assistant can do here, or why it cannot."""

    def __init__(self, starters: list[str], problem: str | None) -> None:
        super().__init__(id="chat-empty")
        self.starters = starters
        self.problem = problem

    def compose(self) -> ComposeResult:
        if self.problem is not None:
            yield Static(
                Text.assemble(("The assistant is not available. ", "bold"), self.problem),
                id="chat-problem",
            )
            return
        yield Static(
            "Ask about what you see here, or start with one of these (Enter on one sends it):",
            id="chat-intro",
        )
        yield OptionList(*self.starters, id="chat-starters")


class EarlierEntries(Static):
    """The line above a conversation drawn from its tail: a click (or PageUp at the top)
    draws the rest."""

    class Wanted(Message):
        pass

    def on_click(self) -> None:
        self.post_message(self.Wanted())


class AssistantSidebar(Vertical):
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "leave", "Leave the chat", show=False),
        Binding("ctrl+r", "retry", "Retry"),
        Binding("ctrl+g", "stop", "Stop"),
    ]

    class Left(Message):
        """Esc in the chat: the screen takes the focus back (or closes a full-width chat)."""

    if TYPE_CHECKING:
        from textual import getters

        app = getters.app(CasparianApp)

    def __init__(self, mode: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = mode
        self._numbers = itertools.count(1)
        self._published = 0  # the number of the latest event published
        self._drawn = 0  # events up to this number are on screen
        self._stale = False
        self._busy = False
        self._answer: AnswerBlock | None = None  # the block text is streaming into
        self._answer_key: tuple[str, int | None] | None = None  # its (turn, block)
        self._tools: dict[str, ToolCallView] = {}
        self._cards: dict[str, ActionCard] = {}
        self._unsubscribe: object = None

    def compose(self) -> ComposeResult:
        yield Static(id="chat-header")
        yield VerticalScroll(id="chat-log", can_focus=False)  # PageUp/PageDown scroll it
        yield Static(KEYS_HINT, id="chat-status")
        yield ChatInput(id="chat-input")

    @property
    def chat_log(self) -> VerticalScroll:
        return self.query_one("#chat-log", VerticalScroll)

    @property
    def input(self) -> ChatInput:
        return self.query_one(ChatInput)

    async def on_mount(self) -> None:
        status = self.app.service.assistant.status()
        model = f" [dim]{status.model}[/dim]" if status.problem is None else ""
        self.query_one("#chat-header", Static).update(f"[b]Assistant[/b]{model}")
        self._unsubscribe = self.app.service.subscribe(self._published_event, *ASSISTANT_EVENTS)
        await self.redraw()

    def on_unmount(self) -> None:
        if callable(self._unsubscribe):
            self._unsubscribe()

    def _published_event(self, event: Event) -> None:
        """Called in the publishing thread: number the event and queue it for the loop."""
        number = next(self._numbers)
        self._published = number
        self.post_message(AssistantEvent(event, number))

    # Following the conversation.

    @property
    def following(self) -> bool:
        """The sidebar of the current mode follows events; the others redraw when they return."""
        return self.screen in self.app.screen_stack

    @property
    def up_to_date(self) -> bool:
        """Every event published so far is drawn (or was in the transcript of the redraw)."""
        return self._drawn >= self._published

    async def catch_up(self) -> None:
        """The screen came back: redraw if events were missed meanwhile."""
        if self._stale:
            await self.redraw()

    async def redraw(self, *, everything: bool = False) -> None:
        """Draw the conversation from the core's transcript: its tail (`assistant_tail`: a
        long one took seconds to draw whole), or `everything`."""
        self._drawn = self._published  # first: an event published after it is drawn again
        assistant = self.app.service.assistant
        entries = assistant.transcript()
        await self._close_answer()
        await self.chat_log.remove_children()
        self._tools.clear()
        self._cards.clear()
        if entries:
            shown = tail(entries, sys.maxsize if everything else DRAWN_CHARS)
            widgets = [self._entry_widget(entry) for entry in shown.entries]
            if shown.first_text is not None:
                widgets[0] = AnswerBlock(shown.first_text)
            if shown.cut:
                widgets.insert(0, EarlierEntries(earlier_label(shown), id="chat-earlier"))
            await self.chat_log.mount_all(widgets)
            if isinstance(entries[-1], TextEntry):  # it may still be streaming
                self._answer = self.chat_log.children[-1]  # type: ignore[assignment]
                self._answer_key = (entries[-1].turn_id, None)
        else:
            status = assistant.status()
            starters = assistant.starter_prompts(self.mode)
            await self.chat_log.mount(StarterPanel(starters, status.problem))
        self.input.sent = [e.text for e in entries if isinstance(e, UserEntry)]
        self._set_busy(self.app.assistant_busy)
        self._outdate_errors(keep_last=True)
        self._stale = False
        self.chat_log.anchor()

    async def show_earlier(self) -> None:
        """Draw the whole conversation, the entry that was first in view at the top."""
        if not self.chat_log.query(EarlierEntries):
            return
        first_shown = tail(self.app.service.assistant.transcript()).hidden
        await self.redraw(everything=True)
        entry = self.chat_log.children[first_shown]
        self.call_after_refresh(self.chat_log.scroll_to_widget, entry, top=True, animate=False)

    async def on_earlier_entries_wanted(self) -> None:
        await self.show_earlier()

    def _entry_widget(self, entry: TranscriptEntry) -> Widget:
        if isinstance(entry, UserEntry):
            return UserMessage(entry.text)
        if isinstance(entry, TextEntry):
            return AnswerBlock(entry.text)
        if isinstance(entry, ToolCallEntry):
            view = ToolCallView(entry.name, entry.arguments)
            if entry.summary is not None:
                view.show_result(entry.summary, entry.failed)
            self._tools[entry.call_id] = view
            return view
        if isinstance(entry, ActionEntry):
            card = ActionCard(entry.action)
            self._cards[entry.action.id] = card
            return card
        if isinstance(entry, ErrorEntry):
            return ErrorView(entry.failure)
        return NoteView(entry.text)

    async def on_assistant_event(self, message: AssistantEvent) -> None:
        if message.number <= self._drawn:
            return  # the transcript of the last redraw had it
        if not self.following:
            self._stale = True
            return
        await self.apply(message.event)
        self._drawn = max(self._drawn, message.number)  # a redraw meanwhile may be ahead

    async def apply(self, event: Event) -> None:
        """Draw one event at the end of the conversation."""
        if isinstance(event, AssistantText):
            await self._add_text(event)
        elif isinstance(event, AssistantTurnStarted):
            self._outdate_errors(keep_last=False)
            self._set_busy(True)
            await self._add(UserMessage(event.text))
        elif isinstance(event, AssistantTurnResumed):
            await self.redraw()  # the transcript dropped the cut text; the answer comes again
            self._outdate_errors(keep_last=False)
            self._set_busy(True)
        elif isinstance(event, AssistantToolCall):
            view = ToolCallView(event.name, event.arguments)
            self._tools[event.call_id] = view
            await self._add(view)
        elif isinstance(event, AssistantToolResult):
            if event.call_id in self._tools:
                self._tools[event.call_id].show_result(event.summary, event.failed)
        elif isinstance(event, AssistantActionChanged):
            await self._show_action(event.action)
        elif isinstance(event, AssistantFailed):
            await self._add(ErrorView(event.failure))
            self.refresh_bindings()
        elif isinstance(event, AssistantNote):
            await self._add(NoteView(event.text))
        elif isinstance(event, AssistantTurnEnded):
            await self._close_answer()
            self._set_busy(False)
            if event.cancelled:
                self._set_status("Stopped.")

    async def _add_text(self, event: AssistantText) -> None:
        key = self._answer_key
        continues = (
            self._answer is not None
            and key is not None
            and key[0] == event.turn_id
            and key[1] in (None, event.block)
        )
        if not continues:
            self._answer = AnswerBlock()
            await self._add(self._answer)
        self._answer_key = (event.turn_id, event.block)
        assert self._answer is not None
        await self._answer.add(event.delta)

    async def _add(self, widget: Widget) -> None:
        """Mount `widget` after everything else; text that comes later opens a new block."""
        if not isinstance(widget, AnswerBlock):
            await self._close_answer()
        empty = self.chat_log.query(StarterPanel)
        if empty:
            await empty.remove()
        await self.chat_log.mount(widget)

    async def _close_answer(self) -> None:
        if self._answer is not None:
            await self._answer.finish()
        self._answer, self._answer_key = None, None

    async def _show_action(self, action: PendingAction) -> None:
        card = self._cards.get(action.id)
        if card is not None:
            card.show(action)
            if self.has_focus_within and card.has_focus:
                self.focus_chat()  # decided: on to the next pending card, or the input
            return
        card = ActionCard(action)
        self._cards[action.id] = card
        await self._add(card)
        # The model's proposal in this turn: y/n act at once; typing goes on after Tab or a
        # decision. One another face proposed may arrive while the user types: no focus taken.
        if action.status is ActionStatus.PENDING and self._busy and self.has_focus_within:
            card.focus()

    def _outdate_errors(self, *, keep_last: bool) -> None:
        errors = list(self.chat_log.query(ErrorView))
        last = errors[-1] if keep_last and errors else None
        for error in errors:
            if error is not last:
                error.outdate()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._set_status(BUSY_HINT if busy else KEYS_HINT)
        self.refresh_bindings()

    def _set_status(self, text: str) -> None:
        self.query_one("#chat-status", Static).update(text)

    # Focus and keys.

    @property
    def pending_cards(self) -> list[ActionCard]:
        return [card for card in self._cards.values() if card.pending]

    def focus_chat(self) -> None:
        """The oldest card waiting for a decision, else the input."""
        pending = self.pending_cards
        (pending[0] if pending else self.input).focus()

    def action_leave(self) -> None:
        self.post_message(self.Left())

    async def on_chat_input_scroll_wanted(self, message: ChatInput.ScrollWanted) -> None:
        if message.pages < 0 and self.chat_log.scroll_y == 0:
            await self.show_earlier()  # at the top already: what came before, if left out
        elif message.pages < 0:
            self.chat_log.scroll_page_up(animate=False)
        else:
            self.chat_log.scroll_page_down(animate=False)

    def on_chat_input_submitted(self, message: ChatInput.Submitted) -> None:
        self.send(message.text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.send(str(event.option.prompt))

    def send(self, text: str) -> None:
        if self._busy:
            self._set_status("Still answering: wait for the answer, or Ctrl+G stops it.")
            return
        self.input.remember(text)
        self.app.ask_assistant(text, self.context())
        self.input.focus()

    def context(self) -> AssistantContext:
        context_of = getattr(self.screen, "assistant_context", None)
        return context_of() if callable(context_of) else AssistantContext(mode=self.mode)

    def prefill(self, text: str) -> None:
        self.input.prefill(text)
        self.input.focus()

    def _retryable(self) -> ErrorView | None:
        errors = self.chat_log.query(ErrorView)
        last = errors.last() if errors else None
        return last if last is not None and last.retryable and not self._busy else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Shown (in the footer and the help) only when they would do something.
        if action == "retry":
            return self._retryable() is not None
        if action == "stop":
            return self._busy
        return True

    def action_retry(self) -> None:
        error = self._retryable()
        if error is not None:
            error.outdate()
            self.app.retry_assistant()

    def action_stop(self) -> None:
        self.app.stop_assistant()

    def on_action_card_decided(self, message: ActionCard.Decided) -> None:
        self.app.decide_action(message.action_id, message.approve)
