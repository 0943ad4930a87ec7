"""How much of a long conversation the sidebar draws at once: its tail.

Drawing an entry mounts widgets (an answer's Markdown is a widget per paragraph, list and code
block), and the first open of the chat in a mode after a long answer drew all of it: seconds,
with the loop held. So a redraw draws the entries that fit in DRAWN_CHARS, counted from the
end; of an answer longer than that, only its last paragraphs (cut where a new top-level block
starts, never inside a code block). Whatever comes before is drawn when the user asks for it.
An action still waiting for a decision, and a tool still running, are always drawn: the user
must reach the one, the other's result is yet to come.
"""

from __future__ import annotations

from dataclasses import dataclass

from casparian_core.api import (
    ActionEntry,
    ActionStatus,
    TextEntry,
    ToolCallEntry,
    TranscriptEntry,
    UserEntry,
)

DRAWN_CHARS = 3_000  # about three screens of the chat at 120 columns
ENTRY_CHARS = 200  # what an entry without much text counts (a tool call, a note, an error)
FENCES = ("```", "~~~")


@dataclass(frozen=True)
class Tail:
    """The entries to draw, the first of them perhaps cut to its end (`first_text`), and
    whether anything before them is left out."""

    entries: list[TranscriptEntry]
    first_text: str | None  # the cut answer's last paragraphs, or None when drawn whole
    hidden: int  # entries left out whole

    @property
    def cut(self) -> bool:
        return self.hidden > 0 or self.first_text is not None


def tail(entries: list[TranscriptEntry], budget: int = DRAWN_CHARS) -> Tail:
    """The end of the conversation that fits in `budget` characters (at least its last entry,
    and from the first entry that must be drawn on)."""
    start, used = len(entries), 0
    while start > 0 and (start == len(entries) or used + _size(entries[start - 1]) <= budget):
        start -= 1
        used += _size(entries[start])
    start = min([start, *(i for i, entry in enumerate(entries) if _must_draw(entry))])
    first, first_text = entries[start], None
    if used > budget and isinstance(first, TextEntry):  # the last entry alone is too long
        first_text = text_tail(first.text, budget - (used - len(first.text)))
    return Tail(entries[start:], first_text, start)


def text_tail(text: str, budget: int) -> str | None:
    """The last top-level Markdown blocks of `text` within `budget` characters (at least the
    last block); None when there is no earlier place to cut."""
    cuts = _block_starts(text)
    fitting = [at for at in cuts if len(text) - at <= budget]
    at = fitting[0] if fitting else (cuts[-1] if cuts else 0)
    return text[at:] if at > 0 else None


def _block_starts(text: str) -> list[int]:
    """Offsets where a top-level block starts after a blank line, outside code blocks and
    list items' indented continuations: the tail from there is Markdown of its own."""
    starts, offset, fence, blank = [], 0, None, False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if fence is not None:  # inside a code block: only its end matters
            if stripped.startswith(fence):
                fence = None
            blank = False
        else:
            if blank and stripped and not line[0].isspace():
                starts.append(offset)
            if stripped.startswith(FENCES):
                fence = stripped[:3]
            blank = not stripped
        offset += len(line)
    return starts


def _size(entry: TranscriptEntry) -> int:
    if isinstance(entry, TextEntry | UserEntry):
        return max(len(entry.text), ENTRY_CHARS)
    if isinstance(entry, ActionEntry):
        return max(len(entry.action.effect), ENTRY_CHARS)
    return ENTRY_CHARS


def _must_draw(entry: TranscriptEntry) -> bool:
    if isinstance(entry, ActionEntry):
        return entry.action.status is ActionStatus.PENDING
    return isinstance(entry, ToolCallEntry) and entry.summary is None


def earlier_label(shown: Tail) -> str:
    """What the line above the drawn tail says."""
    parts = []
    if shown.hidden:
        parts.append(f"{shown.hidden} earlier {'entry' if shown.hidden == 1 else 'entries'}")
    if shown.first_text is not None:
        parts.append("the start of this answer")
    return f"▲ {' and '.join(parts)}: PageUp at the top, or a click here, shows them"
