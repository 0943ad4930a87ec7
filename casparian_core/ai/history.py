"""The conversation as the model sees it: turns of Messages API messages, trimmed to the
context budget by leaving out the oldest turns (and, when one turn alone is too long, its oldest
tool results), never by failing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]
BYTES_PER_TOKEN = 4  # a conservative estimate for English and code
LEFT_OUT = "[This tool result was left out to fit the model's context; call the tool again.]"


@dataclass
class Trimmed:
    messages: list[Message]
    turns_left_out: int
    results_left_out: int


@dataclass
class History:
    """Each turn starts with a user text message; a cancelled turn is dropped whole, a failed
    one is kept up to its last complete round (for a retry to go on from), so the history never
    holds a tool call without its result."""

    turns: list[list[Message]] = field(default_factory=list)

    def begin_turn(self, text: str) -> None:
        self.turns.append([{"role": "user", "content": text}])

    def drop_turn(self) -> None:
        self.turns.pop()

    def drop_unanswered_calls(self) -> None:
        """Leave out a last reply whose tool calls have no results yet (a turn failed while they
        ran): a retry asks the model again from the results before it."""
        if self.turns and len(self.turns[-1]) > 1 and self.turns[-1][-1]["role"] == "assistant":
            self.turns[-1].pop()

    def add(self, message: Message) -> None:
        self.turns[-1].append(message)

    def trimmed(self, budget_bytes: int) -> Trimmed:
        """The messages to send, within `budget_bytes` where possible: the latest turn always
        goes, with its older tool results left out when it alone is too long."""
        sizes = [sum(_size(m) for m in turn) for turn in self.turns]
        first = len(self.turns) - 1
        total = sizes[first]
        while first > 0 and total + sizes[first - 1] <= budget_bytes:
            first -= 1
            total += sizes[first]
        last = [dict(m) for m in self.turns[-1]]
        results_left_out = _leave_out_results(last, total - budget_bytes)
        messages = [m for turn in self.turns[first:-1] for m in turn] + last
        return Trimmed(messages, first, results_left_out)


def _leave_out_results(turn: list[Message], excess: int) -> int:
    """Replace the turn's oldest tool results (never the latest round's) until `excess` bytes
    are saved; returns how many were replaced."""
    replaced = 0
    rounds = [i for i, m in enumerate(turn) if _is_tool_results(m)]
    for at in rounds[:-1]:
        if excess <= 0:
            break
        before = _size(turn[at])
        turn[at] = {
            "role": "user",
            "content": [{**block, "content": LEFT_OUT} for block in turn[at]["content"]],
        }
        excess -= before - _size(turn[at])
        replaced += len(turn[at]["content"])
    return replaced


def _is_tool_results(message: Message) -> bool:
    content = message["content"]
    return (
        message["role"] == "user"
        and isinstance(content, list)
        and any(block.get("type") == "tool_result" for block in content)
    )


def _size(message: Message) -> int:
    return len(json.dumps(message, ensure_ascii=False).encode())
