"""Pending actions (`cf_ai_actions`): this module owns the table's SQL. A state-changing tool
stores what it would do (the `payload`, for applying) and its exact effect (for a human to
read); any face can list them and decide them later, and the row keeps who decided and when."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from casparian_core.ai.conversation import ActionKind, ActionStatus, PendingAction
from casparian_core.db.connection import format_timestamp
from casparian_core.db.gateway import Gateway
from casparian_core.errors import ActionNotFoundError

Payload = dict[str, Any]
COLUMNS = "id, kind, summary, effect, status, created_at, decided_at, outcome"


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

    async def undecided(self, action_id: str) -> tuple[PendingAction, Payload]:
        """The pending action `action_id` and its payload; ActionNotFoundError when there is
        none, or it was decided already."""
        found = await self._db.read(_one, action_id)
        if found is None or found[0].status is not ActionStatus.PENDING:
            state = "no action" if found is None else f"already {found[0].status.lower()}"
            raise ActionNotFoundError(
                f"Action {action_id} is {state}: list the pending ones and decide one of those."
            )
        return found

    async def decide(
        self, action: PendingAction, status: ActionStatus, outcome: str, by: str
    ) -> PendingAction:
        decided = PendingAction(
            id=action.id,
            kind=action.kind,
            summary=action.summary,
            effect=action.effect,
            status=status,
            created_at=action.created_at,
            decided_at=format_timestamp(self._clock()),
            outcome=outcome,
        )
        await self._db.write(_decide, decided, by)
        return decided


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


def _decide(conn: sqlite3.Connection, action: PendingAction, by: str) -> None:
    conn.execute(
        "UPDATE cf_ai_actions SET status = ?, decided_at = ?, decided_by = ?, outcome = ?"
        " WHERE id = ?",
        (action.status, action.decided_at, by, action.outcome, action.id),
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
    action_id, kind, summary, effect, status, created_at, decided_at, outcome = row
    return PendingAction(
        action_id,
        ActionKind(kind),
        summary,
        effect,
        ActionStatus(status),
        created_at,
        decided_at,
        outcome,
    )
