"""The assistant: one conversation per CoreService, shared by every mode of every face.

A face sends the user's text with its context and follows the events; it never waits on the
model in an event handler. One turn runs at a time; cancelling stops it promptly; a failure is
published (never raised) and `retry()` sends the failed turn again. Approving a pending action
applies it, and the outcome reaches the model: a parser patch's re-test as a new turn at once,
any other decision with the user's next message.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import tempfile
import uuid
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.conversation import (
    ActionKind,
    ActionStatus,
    AssistantContext,
    AssistantFailure,
    AssistantStatus,
    FailureKind,
    PendingAction,
    TranscriptEntry,
)
from casparian_core.ai.failures import RETRY
from casparian_core.ai.history import History
from casparian_core.ai.request_log import AiRequest, ByteCount, recent, record
from casparian_core.ai.settings import assistant_status
from casparian_core.ai.starters import starter_prompts
from casparian_core.ai.transcript import Transcript
from casparian_core.errors import AssistantBusyError
from casparian_core.events import (
    AssistantActionChanged,
    AssistantFailed,
    AssistantTurnEnded,
    AssistantTurnResumed,
    AssistantTurnStarted,
    Event,
)

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from casparian_core.ai.tools.base import ToolEnv
    from casparian_core.ai.tools.registry import Toolbox
    from casparian_core.service import CoreService


@dataclass(frozen=True)
class _Ask:
    """A turn's input: the text the user sees as theirs, the context, and any more the model
    gets with it (a re-run test's full report)."""

    text: str
    context: AssistantContext
    detail: str | None = None


@dataclass(frozen=True)
class _Failed:
    """A failed turn, for `retry()`: with `kept` its messages up to the last complete round
    are still in the history, and a retry goes on from there with the same turn id, its text
    blocks from `from_block` on (the failed exchange's) answered again."""

    ask: _Ask
    turn_id: str
    from_block: int
    kept: bool


class Assistant:
    def __init__(self, service: CoreService, env: Mapping[str, str] | None = None) -> None:
        self._service = service
        self._env = os.environ if env is None else env
        self._actions = ActionStore(service.db, service.clock)
        self._transcript = Transcript()
        self._history = History()
        self._count = ByteCount()
        self._client: AsyncAnthropic | None = None
        self._toolbox: Toolbox | None = None
        self._task: asyncio.Task[None] | None = None  # the turn running, if any
        self._failed: _Failed | None = None  # the last failed turn
        self._context = AssistantContext(mode="home")
        self._for_model: list[str] = []  # decisions the model hears with the next message
        self._turns_left_out = 0
        self._drafts_dir: Path | None = None  # made with the first tool call

    def status(self) -> AssistantStatus:
        return assistant_status(self._service.settings, self._env)

    def transcript(self) -> list[TranscriptEntry]:
        return self._transcript.entries()

    @staticmethod
    def starter_prompts(mode: str) -> list[str]:
        return starter_prompts(mode)

    async def send(self, text: str, context: AssistantContext) -> None:
        """Run one user turn to its end, publishing its events (see the module docstring)."""
        await self._run(_Ask(text, context))

    async def retry(self) -> None:
        """Go on with the last failed turn from where it failed: the tool results it obtained
        are kept, the failed request is sent again (nothing happens when none failed)."""
        if self._failed is not None:
            await self._run(self._failed.ask, self._failed)

    async def _run(self, ask: _Ask, resume: _Failed | None = None) -> None:
        task = self._start(self._turn(ask, resume))
        try:
            await task  # cancelling the caller cancels the turn too
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the caller was cancelled, not just the turn (by cancel())

    def cancel(self) -> None:
        """Stop the running turn, if any; it ends with AssistantTurnEnded(cancelled=True)."""
        if self._task is not None:
            self._task.cancel()

    async def wait_idle(self) -> None:
        """Return once no turn runs (one started by an approval included)."""
        while (task := self._task) is not None and not task.done():
            await asyncio.wait({task})

    def _start(self, turn: Coroutine[object, object, None]) -> asyncio.Task[None]:
        """Run `turn` as the one turn in progress; AssistantBusyError while another runs."""
        if self._busy():
            turn.close()
            raise AssistantBusyError(
                "The assistant is still answering: wait for it, or cancel it, then send again."
            )
        task = asyncio.create_task(turn)  # claimed before any await: one turn at a time
        self._task = task
        return task

    async def pending_actions(self) -> list[PendingAction]:
        return await self._actions.pending()

    async def sync_pending(self) -> None:
        """Bring the conversation's approval cards up to date with the control plane: actions
        another face or process proposed (the MCP server) appear, and those decided elsewhere
        show their decision. The service calls it whenever another connection committed."""
        pending = {action.id: action for action in await self._actions.pending()}
        shown = self._transcript.pending_action_ids()
        for action_id, action in pending.items():
            if action_id not in shown:
                self._publish(AssistantActionChanged(action))
        for action_id in shown - pending.keys():
            found = await self._actions.get(action_id)
            if found is not None and found.status is not ActionStatus.PENDING:
                self._publish(AssistantActionChanged(found))

    async def decide(self, action_id: str, approve: bool) -> PendingAction:
        """Approve (apply) or reject a pending action; see the module docstring."""
        from casparian_core.ai.decisions import decide_action

        decided, applied = await decide_action(
            self._service, self._actions, action_id, approve, getpass.getuser()
        )
        self._publish(AssistantActionChanged(decided))
        report = f"The user {decided.status.lower()} action {decided.id} ({decided.summary}). "
        report += decided.outcome or ""
        detail = None if applied.detail is None else f"The test's report: {applied.detail}"
        if approve and decided.kind is ActionKind.PATCH_PARSER and not self._busy():
            self._start(self._turn(_Ask(report, self._context, detail)))
        else:
            self._for_model.append("\n".join(filter(None, (report, detail))))
        return decided

    def _busy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def request_log(self, limit: int) -> list[AiRequest]:
        """The latest `limit` requests sent to the model, newest first (`casparian ai log`)."""
        return await self._service.db.read(recent, limit)

    async def _turn(self, ask: _Ask, resume: _Failed | None = None) -> None:
        from casparian_core.ai.turn import Turn, TurnFailed

        if resume is None:
            self._forget_failed()
            turn_id, first_block = uuid.uuid4().hex, 0
            self._publish(AssistantTurnStarted(turn_id, ask.text))
        else:
            turn_id, first_block = resume.turn_id, resume.from_block
            self._publish(AssistantTurnResumed(turn_id, first_block))
        self._context = ask.context
        status = self.status()
        if status.problem is not None:
            kind = FailureKind.DISABLED if not status.enabled else FailureKind.NOT_CONFIGURED
            kept = resume is not None and resume.kept
            self._fail(
                _Failed(ask, turn_id, first_block, kept), AssistantFailure(kind, status.problem)
            )
            return
        if resume is None or not resume.kept:
            said = "\n\n".join([*self._for_model, ask.text])
            self._history.begin_turn(said if ask.detail is None else f"{said}\n{ask.detail}")
        turn = Turn(
            turn_id=turn_id,
            context=ask.context,
            client=self._client_for_turn(),
            settings=self._service.settings,
            tools=self._tools(),
            tool_env=self._tool_env(),
            history=self._history,
            count=self._count,
            publish=self._publish,
            log=self._log,
            clock=self._service.clock,
            turns_left_out=self._turns_left_out,
            block=first_block - 1,
        )
        try:
            await turn.run()
        except asyncio.CancelledError:
            self._history.drop_turn()
            self._failed = None  # a resumed turn cancelled is gone too
            self._publish(AssistantTurnEnded(turn_id, cancelled=True))
            raise
        except TurnFailed as exc:
            self._keep_failed(_Failed(ask, turn_id, turn.exchange_block, kept=True), exc.failure)
            return
        except Exception as exc:  # a local failure (the database, a bug): shown, never raised
            message = f"The assistant failed here ({type(exc).__name__}: {exc}). {RETRY}"
            failure = AssistantFailure(FailureKind.INTERNAL, message)
            self._keep_failed(_Failed(ask, turn_id, turn.exchange_block, kept=True), failure)
            return
        finally:
            self._turns_left_out = turn.turns_left_out
        self._for_model.clear()
        self._failed = None
        self._publish(AssistantTurnEnded(turn_id, cancelled=False))

    def _keep_failed(self, failed: _Failed, failure: AssistantFailure) -> None:
        """The turn's complete rounds stay in the history for a retry to go on from."""
        self._history.drop_unanswered_calls()
        self._fail(failed, failure)

    def _fail(self, failed: _Failed, failure: AssistantFailure) -> None:
        self._failed = failed
        self._publish(AssistantFailed(failed.turn_id, failure))
        self._publish(AssistantTurnEnded(failed.turn_id, cancelled=False))

    def _forget_failed(self) -> None:
        """A new turn instead of a retry: the failed one leaves the history, as if never sent."""
        if self._failed is not None and self._failed.kept:
            self._history.drop_turn()
        self._failed = None

    def _publish(self, event: Event) -> None:
        self._transcript.apply(event)
        self._service.events.publish(event)

    async def _log(self, request: AiRequest) -> None:
        await self._service.db.write(record, request)

    def _client_for_turn(self) -> AsyncAnthropic:
        from casparian_core.ai.wire import make_client

        if self._client is None:
            self._client = make_client(self._service.settings, self._env, self._count)
        return self._client

    def _tools(self) -> Toolbox:
        from casparian_core.ai.tools.all import toolbox

        if self._toolbox is None:
            self._toolbox = toolbox()
        return self._toolbox

    def _tool_env(self) -> ToolEnv:
        from casparian_core.ai.tools.base import ToolEnv

        if self._drafts_dir is None:
            self._drafts_dir = Path(tempfile.mkdtemp(prefix="casparian-drafts-"))
        return ToolEnv(self._service, self._actions, self._drafts_dir)

    async def close(self) -> None:
        """Cancel a running turn and close the HTTP client (the service stops)."""
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._drafts_dir is not None:
            shutil.rmtree(self._drafts_dir, ignore_errors=True)
            self._drafts_dir = None
