"""The transcript: what a face redraws when it opens, built from the very events the assistant
publishes, so what a face saw live and what it redraws later cannot differ."""

from __future__ import annotations

import threading
from dataclasses import replace

from casparian_core.ai.conversation import (
    ActionEntry,
    ActionStatus,
    ErrorEntry,
    NoteEntry,
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
    AssistantTurnResumed,
    AssistantTurnStarted,
    Event,
)


class Transcript:
    def __init__(self) -> None:
        self._entries: list[TranscriptEntry] = []
        self._lock = threading.Lock()  # a face may read it from another thread
        self._text_at: dict[tuple[str, int], int] = {}  # (turn, block) -> index of its entry
        self._call_at: dict[str, int] = {}  # tool call id -> index of its entry
        self._action_at: dict[str, int] = {}  # action id -> index of its entry

    def entries(self) -> list[TranscriptEntry]:
        with self._lock:
            return list(self._entries)

    def pending_action_ids(self) -> set[str]:
        """The actions shown as waiting for a decision."""
        with self._lock:
            return {
                entry.action.id
                for entry in self._entries
                if isinstance(entry, ActionEntry) and entry.action.status is ActionStatus.PENDING
            }

    def apply(self, event: Event) -> None:
        with self._lock:
            self._apply(event)

    def _apply(self, event: Event) -> None:
        if isinstance(event, AssistantTurnStarted):
            self._entries.append(UserEntry(event.text))
        elif isinstance(event, AssistantText):
            self._add_text(event)
        elif isinstance(event, AssistantToolCall):
            self._call_at[event.call_id] = len(self._entries)
            self._entries.append(
                ToolCallEntry(event.turn_id, event.call_id, event.name, event.arguments)
            )
        elif isinstance(event, AssistantToolResult):
            at = self._call_at[event.call_id]
            call = self._entries[at]
            assert isinstance(call, ToolCallEntry)
            self._entries[at] = replace(call, summary=event.summary, failed=event.failed)
        elif isinstance(event, AssistantActionChanged):
            self._put_action(event)
        elif isinstance(event, AssistantFailed):
            self._entries.append(ErrorEntry(event.turn_id, event.failure))
        elif isinstance(event, AssistantNote):
            self._entries.append(NoteEntry(event.text))
        elif isinstance(event, AssistantTurnResumed):
            self._drop_text_from(event.turn_id, event.from_block)

    def _drop_text_from(self, turn_id: str, from_block: int) -> None:
        """A resumed turn answers its failed exchange again: that exchange's text goes."""
        dropped = {
            at
            for (turn, block), at in self._text_at.items()
            if turn == turn_id and block >= from_block
        }
        if not dropped:
            return
        self._entries = [entry for at, entry in enumerate(self._entries) if at not in dropped]
        self._text_at = {
            key: _after(at, dropped) for key, at in self._text_at.items() if at not in dropped
        }
        self._call_at = {key: _after(at, dropped) for key, at in self._call_at.items()}
        self._action_at = {key: _after(at, dropped) for key, at in self._action_at.items()}

    def _add_text(self, event: AssistantText) -> None:
        key = (event.turn_id, event.block)
        at = self._text_at.get(key)
        if at is None:
            self._text_at[key] = len(self._entries)
            self._entries.append(TextEntry(event.turn_id, event.delta))
            return
        entry = self._entries[at]
        assert isinstance(entry, TextEntry)
        self._entries[at] = TextEntry(entry.turn_id, entry.text + event.delta)

    def _put_action(self, event: AssistantActionChanged) -> None:
        at = self._action_at.get(event.action.id)
        if at is None:
            self._action_at[event.action.id] = len(self._entries)
            self._entries.append(ActionEntry(event.action))
        else:
            self._entries[at] = ActionEntry(event.action)


def _after(at: int, dropped: set[int]) -> int:
    """Where the entry at `at` is once the entries at `dropped` are gone."""
    return at - sum(1 for gone in dropped if gone < at)
