"""Helpers for the assistant sidebar's tests: fixed events as the core publishes them."""

from __future__ import annotations

from casparian_core.api import (
    ActionKind,
    ActionStatus,
    AssistantFailure,
    FailureKind,
    PendingAction,
)
from casparian_core.events import (
    AssistantActionChanged,
    AssistantFailed,
    AssistantText,
    AssistantToolCall,
    AssistantToolResult,
    AssistantTurnEnded,
    AssistantTurnStarted,
    Event,
)
from casparian_tui.app import CasparianApp
from casparian_tui.widgets.assistant import AssistantSidebar
from casparian_tui.widgets.assistant_input import ChatInput

TURN = "1" * 32
QUESTION = "Why did this test fail?"
ANSWER_SO_FAR = (
    "The parser reads **amount** with `int()`, but line 3 of the input has `12.50`:\n\n"
    "- the contract says `amount: int64`\n"
    "- the file has decimals in"
)
PATCH = """\
--- a/parsers/sales.py
+++ b/parsers/sales.py
@@ -8,7 +8,7 @@
     for row in csv.DictReader(f):
         yield {
             "region": row["region"],
-            "amount": int(row["amount"]),
+            "amount": float(row["amount"]),
         }
"""
PATCH_ACTION = PendingAction(
    id="a" * 32,
    kind=ActionKind.PATCH_PARSER,
    summary="Patch parsers/sales.py: read amount as a decimal",
    effect=PATCH,
    status=ActionStatus.PENDING,
    created_at="2026-11-27T12:00:00.000000Z",
)


def streaming() -> list[Event]:
    """A question, and the first part of its answer still streaming."""
    words = ANSWER_SO_FAR.split(" ")
    deltas = [word + " " for word in words[:-1]] + [words[-1]]
    return [
        AssistantTurnStarted(TURN, QUESTION),
        *(AssistantText(TURN, 0, delta) for delta in deltas),
    ]


def tool_calls() -> list[Event]:
    """A finished tool call, and one still running."""
    return [
        AssistantTurnStarted(TURN, QUESTION),
        AssistantText(TURN, 0, "Let me read the parser and test it again."),
        AssistantToolCall(TURN, "call-1", "read_parser", {"path": "parsers/sales.py"}),
        AssistantToolResult(TURN, "call-1", "24 lines, 612 bytes", False),
        AssistantToolCall(
            TURN, "call-2", "test_parser", {"parser": "sales", "file": "/data/sales_3.csv"}
        ),
    ]


def approval() -> list[Event]:
    return [
        AssistantTurnStarted(TURN, QUESTION),
        AssistantText(TURN, 0, "`amount` has decimals: reading it as a float fixes it."),
        AssistantActionChanged(PATCH_ACTION),
        AssistantText(TURN, 1, "Approve the patch and I will test it again."),
        AssistantTurnEnded(TURN, cancelled=False),
    ]


def failure() -> list[Event]:
    rate_limited = AssistantFailure(
        FailureKind.RATE_LIMITED,
        "The Anthropic API is rate-limiting this key.",
        retry_after_secs=30,
    )
    return [
        AssistantTurnStarted(TURN, QUESTION),
        AssistantFailed(TURN, rate_limited),
        AssistantTurnEnded(TURN, cancelled=False),
    ]


def publish(app: CasparianApp, events: list[Event]) -> None:
    """Publish as the core does (numbered, queued, drawn on the app's loop)."""
    for event in events:
        app.service.events.publish(event)


def sidebar(app: CasparianApp) -> AssistantSidebar:
    return app.screen.query_one(AssistantSidebar)


def steady_cursor(app: CasparianApp) -> None:
    """Snapshots: the chat's cursor stays lit (it blinks on a timer of its own)."""
    for box in app.screen.query(ChatInput):
        box.cursor_blink = False
