"""What a tool is, and the byte cap every result passes through on its way to the model."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from casparian_core.errors import CasparianError

if TYPE_CHECKING:
    from casparian_core.ai.actions import ActionStore
    from casparian_core.ai.conversation import PendingAction
    from casparian_core.service import CoreService

DEFAULT_CAP_BYTES = 16 * 1024
CUT_NOTE = "\n[cut: {shown} of {total} bytes shown; ask for less (a smaller page or limit)]"


class Params(BaseModel):
    """Base of every tool's parameters: unknown arguments are an error the model sees."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=Params)


@dataclass(frozen=True)
class ToolOutput:
    """`content` goes to the model (bounded by the tool's cap); `summary` is the one line a
    face shows; `action` is the pending action a state-changing tool created."""

    content: str
    summary: str
    action: PendingAction | None = None


@dataclass(frozen=True)
class ToolEnv:
    """What a tool may use: the service's facades, the pending-action store, and a private
    folder for draft parser files (tested there, never in the home's parsers/)."""

    service: CoreService
    actions: ActionStore
    drafts_dir: Path


class ToolInputError(Exception):
    """The model's arguments do not fit the tool; the message goes back to the model."""


@dataclass(frozen=True)
class Tool(Generic[P]):
    name: str
    description: str
    params: type[P]
    run: Callable[[ToolEnv, P], Awaitable[ToolOutput]]
    cap_bytes: int = DEFAULT_CAP_BYTES

    def definition(self) -> dict[str, Any]:
        """The tool as the Messages API's `tools` list takes it."""
        schema = self.params.model_json_schema()
        schema.pop("title", None)
        return {"name": self.name, "description": self.description, "input_schema": schema}

    async def call(self, env: ToolEnv, arguments: dict[str, Any]) -> ToolOutput:
        """Run the tool; bad arguments and CasparianErrors raise ToolInputError (for the
        model to correct), anything else propagates (a failed tool)."""
        try:
            params = self.params.model_validate(arguments)
        except ValidationError as exc:
            raise ToolInputError(_validation_text(exc)) from None
        try:
            output = await self.run(env, params)
        except CasparianError as exc:
            raise ToolInputError(str(exc)) from None
        return ToolOutput(bounded(output.content, self.cap_bytes), output.summary, output.action)


def bounded(text: str, cap_bytes: int) -> str:
    """`text` within `cap_bytes` of UTF-8, with a note saying what was cut."""
    data = text.encode()
    if len(data) <= cap_bytes:
        return text
    note = CUT_NOTE.format(shown="{shown}", total=len(data))
    keep = cap_bytes - len(note.encode()) - 16  # room for the shown count's digits
    shown = data[:keep].decode(errors="ignore")
    return shown + note.format(shown=len(shown.encode()))


def fitting(rows: list[Any], budget_bytes: int) -> list[Any]:
    """The leading `rows` whose JSON fits in `budget_bytes`: a page cut to whole rows, so the
    model gets valid JSON and a next offset that skips nothing."""
    used = 0
    for count, row in enumerate(rows):
        used += len(as_json(row).encode()) + 1
        if used > budget_bytes:
            return rows[:count]
    return rows


def clip(text: str | None, chars: int) -> str | None:
    """`text`'s first `chars` characters, saying how many more there were."""
    if text is None or len(text) <= chars:
        return text
    return text[:chars] + f"… [{len(text) - chars} more characters]"


def clip_start(text: str | None, chars: int) -> str | None:
    """`text`'s last `chars` characters (a traceback's end says where it failed)."""
    if text is None or len(text) <= chars:
        return text
    return f"[{len(text) - chars} characters before] …" + text[-chars:]


def as_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _validation_text(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
        for err in exc.errors()
    )
