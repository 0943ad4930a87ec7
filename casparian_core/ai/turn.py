"""One user turn: stream the model's answer, run the tools it calls, send their results back,
until it answers. Publishes the assistant's events as it goes and logs every request."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from casparian_core.ai.conversation import AssistantContext, AssistantFailure, FailureKind
from casparian_core.ai.failures import RETRY, StreamCutError, classify
from casparian_core.ai.history import BYTES_PER_TOKEN, History, Message
from casparian_core.ai.prompt import context_summary, system_blocks
from casparian_core.ai.request_log import AiRequest, ByteCount
from casparian_core.ai.tools.base import ToolEnv, ToolInputError, ToolOutput
from casparian_core.ai.tools.registry import Toolbox
from casparian_core.config import Settings
from casparian_core.db.connection import format_timestamp
from casparian_core.events import (
    AssistantActionChanged,
    AssistantNote,
    AssistantText,
    AssistantToolCall,
    AssistantToolResult,
    Event,
)

if TYPE_CHECKING:
    from datetime import datetime

    from anthropic import AsyncAnthropic
    from anthropic.types import Message as ApiMessage

# Past this many rounds of tool calls in one turn the model must answer in text.
MAX_TOOL_ROUNDS = 20
TRIM_NOTE = "Earlier messages were left out to fit the model's context ({what})."


class TurnFailed(Exception):
    def __init__(self, failure: AssistantFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass
class Turn:
    """Everything one turn needs; `run()` plays it to its end or raises TurnFailed (or
    CancelledError, when cancelled)."""

    turn_id: str
    context: AssistantContext
    client: AsyncAnthropic
    settings: Settings
    tools: Toolbox
    tool_env: ToolEnv
    history: History
    count: ByteCount
    publish: Callable[[Event], None]
    log: Callable[[AiRequest], Awaitable[None]]
    clock: Callable[[], datetime]
    turns_left_out: int = 0  # from earlier turns: a note is shown only when it grows
    block: int = -1  # the last text block number used (a resumed turn goes on from it)
    exchange_block: int = field(init=False)  # the first text block of the latest exchange

    def __post_init__(self) -> None:
        self.exchange_block = self.block + 1

    async def run(self) -> None:
        for round_number in range(MAX_TOOL_ROUNDS + 1):
            message = await self._exchange(can_call_tools=round_number < MAX_TOOL_ROUNDS)
            self.history.add({"role": "assistant", "content": _content_params(message)})
            calls = [block for block in message.content if block.type == "tool_use"]
            if message.stop_reason != "tool_use" or not calls:
                return
            results = [await self._call(c.id, c.name, _arguments(c.input)) for c in calls]
            self.history.add({"role": "user", "content": results})

    def _request(self, can_call_tools: bool) -> dict[str, Any]:
        system = system_blocks(self.context)
        definitions = self.tools.definitions()
        fixed = len(json.dumps([system, definitions]).encode())
        budget = (
            self.settings.ai_context_tokens - self.settings.ai_max_tokens
        ) * BYTES_PER_TOKEN - fixed
        trimmed = self.history.trimmed(budget)
        self._note_trimming(trimmed.turns_left_out, trimmed.results_left_out)
        request: dict[str, Any] = {
            "model": self.settings.ai_model,
            "max_tokens": self.settings.ai_max_tokens,
            "system": system,
            "messages": trimmed.messages,
            "tools": definitions,
        }
        if not can_call_tools:
            request["tool_choice"] = {"type": "none"}
        return request

    def _note_trimming(self, turns_left_out: int, results_left_out: int) -> None:
        parts = []
        if turns_left_out > self.turns_left_out:
            parts.append(f"{turns_left_out} earliest turns")
            self.turns_left_out = turns_left_out
        if results_left_out:
            parts.append(f"{results_left_out} older tool results of this turn")
        if parts:
            self.publish(AssistantNote(TRIM_NOTE.format(what=", ".join(parts))))

    async def _exchange(self, can_call_tools: bool) -> ApiMessage:
        """One streamed request, logged however it ends."""
        request = self._request(can_call_tools)
        self.exchange_block = self.block + 1
        started, clock_start = format_timestamp(self.clock()), time.monotonic()
        sent, received = self.count.sent, self.count.received
        message: ApiMessage | None = None
        outcome = "cancelled"
        try:
            message = await self._stream(request)
            outcome = message.stop_reason or "unknown"
            return message
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failure = classify(exc)
            outcome = failure.kind
            raise TurnFailed(failure) from exc
        finally:
            await self.log(
                AiRequest(
                    started_at=started,
                    model=self.settings.ai_model,
                    mode=self.context.mode,
                    context=context_summary(self.context),
                    tools_called=tuple(
                        b.name for b in (message.content if message else ()) if b.type == "tool_use"
                    ),
                    bytes_sent=self.count.sent - sent,
                    bytes_received=self.count.received - received,
                    input_tokens=message.usage.input_tokens if message else None,
                    output_tokens=message.usage.output_tokens if message else None,
                    outcome=outcome,
                    duration_s=time.monotonic() - clock_start,
                )
            )

    async def _stream(self, request: dict[str, Any]) -> ApiMessage:
        stopped = False
        async with self.client.messages.stream(**request) as stream:
            async for event in stream:
                if event.type == "content_block_start" and event.content_block.type == "text":
                    self.block += 1
                elif event.type == "text" and event.text:
                    self.publish(AssistantText(self.turn_id, max(self.block, 0), event.text))
                elif event.type == "message_stop":
                    stopped = True
            if not stopped:
                raise StreamCutError("the stream ended before message_stop")
            return await stream.get_final_message()

    async def _call(self, call_id: str, name: str, arguments: dict[str, Any]) -> Message:
        """Run one tool call; a tool's own error goes back to the model, a crash ends the turn."""
        self.publish(AssistantToolCall(self.turn_id, call_id, name, arguments))
        try:
            output = await self.tools.call(self.tool_env, name, arguments)
        except ToolInputError as exc:
            self.publish(AssistantToolResult(self.turn_id, call_id, f"error: {exc}", True))
            return _tool_result(call_id, str(exc), is_error=True)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            self.publish(AssistantToolResult(self.turn_id, call_id, f"failed: {message}", True))
            raise TurnFailed(
                AssistantFailure(
                    FailureKind.TOOL_FAILED, f"The tool {name} failed ({message}). {RETRY}"
                )
            ) from exc
        self._published_output(call_id, output)
        return _tool_result(call_id, output.content, is_error=False)

    def _published_output(self, call_id: str, output: ToolOutput) -> None:
        self.publish(AssistantToolResult(self.turn_id, call_id, output.summary, False))
        if output.action is not None:
            self.publish(AssistantActionChanged(output.action))


def _tool_result(call_id: str, content: str, is_error: bool) -> Message:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content, "is_error": is_error}


def _arguments(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _content_params(message: ApiMessage) -> list[dict[str, Any]]:
    """The reply's blocks as the next request sends them back (empty text blocks dropped: the
    API refuses them)."""
    blocks: list[dict[str, Any]] = []
    for block in message.content:
        if block.type == "text" and block.text:
            blocks.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            blocks.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
            )
    return blocks or [{"type": "text", "text": "(no answer)"}]
