"""`service.tools`: the assistant's shared tools as an outside client (the MCP server) calls
them. The same Toolbox the sidebar's model uses, so each tool is defined once; here every call
is recorded in the audit log (`casparian ai log`) with its face, and a pending action of a
class the user trusts (`casparian mcp --allow KIND`) is applied at once, recorded as such."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.conversation import ActionKind, ActionStatus, PendingAction
from casparian_core.ai.request_log import AiRequest, record
from casparian_core.ai.tools.base import ToolEnv, ToolInputError, as_json
from casparian_core.db.connection import format_timestamp

if TYPE_CHECKING:
    from casparian_core.ai.tools.registry import Toolbox
    from casparian_core.service import CoreService

CONTEXT_MAX_CHARS = 500  # of the arguments, in the audit log's context column


@dataclass(frozen=True)
class ToolSpec:
    """A tool as a client lists it: its name, what it does, its arguments' JSON Schema."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A call's answer. `text` is the tool's (capped) content; `error` says why it did not run
    (bad arguments, something to correct); `action` is the action it proposed: still pending,
    or decided already when its class was trusted (`auto_approved`)."""

    text: str
    summary: str
    error: str | None = None
    action: PendingAction | None = None
    auto_approved: bool = False


class OutsideTools:
    def __init__(self, service: CoreService) -> None:
        self._service = service
        self._actions = ActionStore(service.db, service.clock)
        self._toolbox: Toolbox | None = None
        self._drafts_dir: Path | None = None

    def specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(d["name"], d["description"], d["input_schema"])
            for d in self._tools().definitions()
        ]

    async def call(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        face: str,
        client: str,
        allow: Collection[ActionKind] = (),
    ) -> ToolCall:
        """Run tool `name` for `client` (over `face`), record the call, and apply a proposed
        action at once when its kind is in `allow`. Never raises for bad arguments or a tool
        that fails: the answer's `error` says so."""
        started, began = self._service.clock(), time.monotonic()
        answer = await self._answer(name, arguments, client, allow)
        request = AiRequest(
            started_at=format_timestamp(started),
            model=client,
            mode=face,
            context=f"{name} {as_json(arguments)}"[:CONTEXT_MAX_CHARS],
            tools_called=(name,),
            bytes_sent=len((answer.error or answer.text).encode()),
            bytes_received=len(as_json(arguments).encode()),
            input_tokens=None,
            output_tokens=None,
            outcome=_outcome(answer),
            duration_s=time.monotonic() - began,
            face=face,
        )
        await self._service.db.write(record, request)
        return answer

    async def _answer(
        self, name: str, arguments: dict[str, Any], client: str, allow: Collection[ActionKind]
    ) -> ToolCall:
        try:
            output = await self._tools().call(self._env(), name, arguments)
        except ToolInputError as exc:
            return ToolCall("", "refused", error=str(exc))
        except Exception as exc:  # a failure here (the database, a bug): said, never hidden
            return ToolCall("", "failed", error=f"The tool failed: {type(exc).__name__}: {exc}")
        action = output.action
        if action is None or action.kind not in allow:
            return ToolCall(output.content, output.summary, action=action)
        from casparian_core.ai.decisions import decide_action

        by = f"{client} (trusted: casparian mcp --allow {action.kind})"
        decided, applied = await decide_action(self._service, self._actions, action.id, True, by)
        text = as_json(
            {
                "action": decided.id,
                "summary": decided.summary,
                "effect": decided.effect,
                "status": decided.status,
                "outcome": decided.outcome,
                "note": f"applied without approval: {action.kind} is trusted (--allow)",
            }
        )
        return ToolCall(text, applied.outcome, action=decided, auto_approved=True)

    def _tools(self) -> Toolbox:
        from casparian_core.ai.tools.all import toolbox

        if self._toolbox is None:
            self._toolbox = toolbox()
        return self._toolbox

    def _env(self) -> ToolEnv:
        if self._drafts_dir is None:
            self._drafts_dir = Path(tempfile.mkdtemp(prefix="casparian-drafts-"))
        return ToolEnv(self._service, self._actions, self._drafts_dir)

    def close(self) -> None:
        if self._drafts_dir is not None:
            shutil.rmtree(self._drafts_dir, ignore_errors=True)
            self._drafts_dir = None


def _outcome(answer: ToolCall) -> str:
    if answer.error is not None:
        return answer.summary  # refused | failed
    if answer.action is None:
        return "ok"
    if answer.auto_approved:
        return f"auto-approved {answer.action.id}: {answer.action.status}"
    assert answer.action.status is ActionStatus.PENDING
    return f"pending {answer.action.id}"
