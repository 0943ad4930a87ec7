"""Pending actions (`cf_ai_actions`): this module owns the table's SQL. A state-changing tool
stores what it would do (the `payload`, for applying) and its exact effect (for a human to
read); any face can list them and decide them later, and the row keeps who decided and when."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from casparian_core.ai.conversation import ActionKind, ActionStatus, PendingAction
from casparian_core.db.connection import format_timestamp
from casparian_core.db.gateway import Gateway
from casparian_core.errors import ActionNotFoundError

Payload = dict[str, Any]
COLUMNS = "id, kind, summary, effect, status, created_at, decided_at, outcome, decided_by"
# A claim older than this was left by a process that died while deciding: it may be taken over.
# Generous, since applying a patch re-runs the parser's test.
CLAIM_STALE = timedelta(hours=1)


class ActionStore:
    def __init__(self, db: Gateway, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self, kind: ActionKind, summary: str, effect: str, payload: Payload
    ) -> PendingAction:
        action = PendingAction(
            id=uuid.uuid4().hex,
            kind=kind,
            summary=summary,
            effect=effect,
            status=ActionStatus.PENDING,
            created_at=format_timestamp(self._clock()),
        )
        await self._db.write(_insert, action, payload)
        return action

    async def pending(self) -> list[PendingAction]:
        return await self._db.read(_pending)

    async def get(self, action_id: str) -> PendingAction | None:
        found = await self._db.read(_one, action_id)
        return None if found is None else found[0]

    async def claim(self, action_id: str, by: str) -> tuple[PendingAction, Payload]:
        """Take the pending action `action_id` to decide it, so that no other face or process
        can decide it meanwhile (two of them would otherwise both apply it). Raises
        ActionNotFoundError when there is no such action, it was decided already, or another
        one is deciding it now. A claim left by a process that died is taken over after
        CLAIM_STALE; `decide` ends the claim."""
        now = self._clock()
        claimed, found = await self._db.write(
            _claim, action_id, by, format_timestamp(now), format_timestamp(now - CLAIM_STALE)
        )
        if not claimed or found is None:
            raise ActionNotFoundError(
                f"Action {action_id} is {_state(found)}: list the pending ones and decide "
                "one of those."
            )
        return found

    async def release(self, action_id: str, by: str) -> None:
        """Give up a claim without deciding: the action is pending for anyone again."""
        await self._db.write(_release, action_id, by)

    async def decide(
        self, action: PendingAction, status: ActionStatus, outcome: str, by: str
    ) -> PendingAction:
        """Record the decision of an action this face claimed."""
        decided = PendingAction(
            id=action.id,
            kind=action.kind,
            summary=action.summary,
            effect=action.effect,
            status=status,
            created_at=action.created_at,
            decided_at=format_timestamp(self._clock()),
            outcome=outcome,
            decided_by=by,
        )
        await self._db.write(_decide, decided, by)
        return decided


def _state(found: tuple[PendingAction, Payload] | None) -> str:
    if found is None:
        return "no action"
    action = found[0]
    if action.status is ActionStatus.PENDING:
        return f"being decided by {action.decided_by} since {action.decided_at}"
    return f"already {action.status.lower()}"


def _insert(conn: sqlite3.Connection, action: PendingAction, payload: Payload) -> None:
    conn.execute(
        "INSERT INTO cf_ai_actions (id, kind, summary, effect, payload, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            action.id,
            action.kind,
            action.summary,
            action.effect,
            json.dumps(payload),
            action.status,
            action.created_at,
        ),
    )


def _claim(
    conn: sqlite3.Connection, action_id: str, by: str, now: str, stale_before: str
) -> tuple[bool, tuple[PendingAction, Payload] | None]:
    """One conditional UPDATE decides who claims: a pending action not claimed, or claimed
    before `stale_before`. Returns whether this call claimed it, and the action as it is now."""
    claimed = conn.execute(
        "UPDATE cf_ai_actions SET decided_by = ?, decided_at = ?"
        " WHERE id = ? AND status = ? AND (decided_by IS NULL OR decided_at < ?)",
        (by, now, action_id, ActionStatus.PENDING, stale_before),
    ).rowcount
    return claimed == 1, _one(conn, action_id)


def _release(conn: sqlite3.Connection, action_id: str, by: str) -> None:
    conn.execute(
        "UPDATE cf_ai_actions SET decided_by = NULL, decided_at = NULL"
        " WHERE id = ? AND status = ? AND decided_by = ?",
        (action_id, ActionStatus.PENDING, by),
    )


def _decide(conn: sqlite3.Connection, action: PendingAction, by: str) -> None:
    conn.execute(
        "UPDATE cf_ai_actions SET status = ?, decided_at = ?, decided_by = ?, outcome = ?"
        " WHERE id = ? AND status = ?",
        (action.status, action.decided_at, by, action.outcome, action.id, ActionStatus.PENDING),
    )


def _pending(conn: sqlite3.Connection) -> list[PendingAction]:
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM cf_ai_actions WHERE status = ? ORDER BY created_at, id",
        (ActionStatus.PENDING,),
    )
    return [_action(row) for row in rows]


def _one(conn: sqlite3.Connection, action_id: str) -> tuple[PendingAction, Payload] | None:
    row = conn.execute(
        f"SELECT {COLUMNS}, payload FROM cf_ai_actions WHERE id = ?", (action_id,)
    ).fetchone()
    return None if row is None else (_action(row[:-1]), json.loads(row[-1]))


def _action(row: tuple[Any, ...]) -> PendingAction:
    action_id, kind, summary, effect, status, created_at, decided_at, outcome, decided_by = row
    return PendingAction(
        action_id,
        ActionKind(kind),
        summary,
        effect,
        ActionStatus(status),
        created_at,
        decided_at,
        outcome,
        decided_by,
    )
