"""The assistant's public types: what a face sends (the context), shows (the transcript, the
pending actions, the failures) and reads (the status). Small frozen dataclasses with no SDK in
them, so a face imports them without loading `anthropic`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MODES = ("home", "discover", "parser_bench", "inspect", "jobs")


@dataclass(frozen=True)
class AssistantContext:
    """Where the user is when they ask: the mode, what is selected in it (keys such as "source",
    "file", "file_ids", "tag", "parser", "parser_path", "test_id"; on Jobs "run", "job_id",
    "fingerprint"; on Inspect "table", "column", "filter", "query"), and any extra text the face
    has (a failed test's error and traceback, a job's trace and log tail, column statistics)."""

    mode: str
    selection: dict[str, str] = field(default_factory=dict)
    detail: str | None = None


@dataclass(frozen=True)
class AssistantStatus:
    """Whether the assistant can be used; `problem` says exactly how to fix it when not."""

    enabled: bool
    configured: bool
    model: str
    problem: str | None


class ActionKind(StrEnum):
    TAG_FILES = "TAG_FILES"
    ADD_RULE = "ADD_RULE"
    WRITE_PARSER = "WRITE_PARSER"
    PATCH_PARSER = "PATCH_PARSER"
    RETRY_JOB = "RETRY_JOB"
    CANCEL_JOB = "CANCEL_JOB"
    REPLAY_QUARANTINE = "REPLAY_QUARANTINE"
    REGISTER_PARSER = "REGISTER_PARSER"
    EXECUTE_PIPELINE = "EXECUTE_PIPELINE"


class ActionStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"  # approved, but applying it failed: `outcome` says why


@dataclass(frozen=True)
class PendingAction:
    """A change the model proposed; nothing happens until a human decides it. `effect` is the
    exact change: a unified diff for a file, the rule and the files it would tag."""

    id: str
    kind: ActionKind
    summary: str
    effect: str
    status: ActionStatus
    created_at: str
    decided_at: str | None = None  # when decided (while still PENDING: when claimed)
    outcome: str | None = None
    decided_by: str | None = None  # who decided it (while still PENDING: who is deciding it)


class FailureKind(StrEnum):
    NOT_CONFIGURED = "NOT_CONFIGURED"
    DISABLED = "DISABLED"
    NETWORK = "NETWORK"
    TIMEOUT = "TIMEOUT"
    RATE_LIMITED = "RATE_LIMITED"
    SERVER = "SERVER"
    STREAM_CUT = "STREAM_CUT"
    MALFORMED = "MALFORMED"
    TOOL_FAILED = "TOOL_FAILED"
    REFUSED = "REFUSED"  # a 4xx other than 429: a bad key, a model that does not exist
    INTERNAL = "INTERNAL"  # something on this machine failed (the database, a bug)


@dataclass(frozen=True)
class AssistantFailure:
    kind: FailureKind
    message: str
    retry_after_secs: float | None = None


@dataclass(frozen=True)
class UserEntry:
    text: str


@dataclass(frozen=True)
class TextEntry:
    """One assistant text block, finished or still streaming."""

    turn_id: str
    text: str


@dataclass(frozen=True)
class ToolCallEntry:
    turn_id: str
    call_id: str
    name: str
    arguments: dict[str, object]
    summary: str | None = None  # None while the tool runs
    failed: bool = False


@dataclass(frozen=True)
class ActionEntry:
    action: PendingAction


@dataclass(frozen=True)
class ErrorEntry:
    turn_id: str
    failure: AssistantFailure


@dataclass(frozen=True)
class NoteEntry:
    text: str


TranscriptEntry = UserEntry | TextEntry | ToolCallEntry | ActionEntry | ErrorEntry | NoteEntry
