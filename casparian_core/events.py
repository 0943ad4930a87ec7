"""Typed events the core publishes, and the bus that delivers them.

Subscribers are plain callables, each for the event types it names (all events when it names
none). They may be called from worker threads (scans and runs publish from threads), so a
subscriber must be thread-safe: Textual's `post_message` is.

`DataChanged` is coalesced: a scan, a tagging of a million files or a watched folder in turmoil
commit many times a second, and every subscriber re-reads what it shows on each one. The first
change is delivered at once; those that follow within `COALESCE_SECS` are merged into one event
at the end of that window, so a steady stream arrives as one event per window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.engine.results import RunStatus
from casparian_core.jobs.status import JobStatus

if TYPE_CHECKING:
    # Named in annotations only: a process running jobs never loads the assistant's types.
    from casparian_core.ai.conversation import AssistantFailure, PendingAction
    from casparian_core.engine.results import InputLogCallback, RunResult, SessionLogCallback

COALESCE_SECS = 0.25


@dataclass(frozen=True)
class Event:
    """Base class of everything the core publishes."""


@dataclass(frozen=True)
class DataChanged(Event):
    """Something in the control plane or the outputs changed; `origin` says who changed it
    (several, comma-separated, when changes were coalesced)."""

    origin: str


@dataclass(frozen=True)
class ScanProgress(Event):
    """A scan of `source` is under way: counts so far and the folder it is reading."""

    source: str
    seen: int
    new: int
    changed: int
    current_dir: str


@dataclass(frozen=True)
class ParsersChanged(Event):
    """Parser files in the home's parsers folder appeared, changed or went away."""

    paths: tuple[Path, ...]


@dataclass(frozen=True)
class RunLog(Event):
    """A line a parser logged (or printed, when its output is piped) while it ran; `job_id` is
    None for lines not tied to a job, such as the guest's start-up."""

    job_id: str | None
    level: int  # a `logging` level number
    text: str


@dataclass(frozen=True)
class RunSummary:
    """What a finished run of one input came to: small, and free of Arrow data, so any face
    (the Jobs screen, MCP, the AI tools) can show or send it."""

    parser_name: str
    parser_version: str
    input_path: str
    status: RunStatus
    error_code: str | None
    error_message: str | None
    rows: int
    quarantined: int
    duration_s: float

    @classmethod
    def of(cls, result: RunResult) -> RunSummary:
        return cls(
            parser_name=result.parser_name,
            parser_version=result.parser_version,
            input_path=str(result.input_path),
            status=result.status,
            error_code=result.error_code,
            error_message=result.error_message,
            rows=result.rows,
            quarantined=result.quarantined,
            duration_s=result.duration_s,
        )


@dataclass(frozen=True)
class RunFinished(Event):
    """A run of one input ended (a dev run's input, a Parser Bench test, a queued job)."""

    job_id: str | None
    summary: RunSummary


@dataclass(frozen=True)
class JobChanged(Event):
    """A queued job moved to `status` (published by the queue)."""

    job_id: str
    status: JobStatus


@dataclass(frozen=True)
class AssistantTurnStarted(Event):
    """The assistant began a turn for the user's (or an approval's) `text`."""

    turn_id: str
    text: str


@dataclass(frozen=True)
class AssistantTurnResumed(Event):
    """A retry goes on with the failed turn `turn_id` from where it failed: the text blocks
    from `from_block` on (the cut exchange's) are dropped, as the model answers them again."""

    turn_id: str
    from_block: int


@dataclass(frozen=True)
class AssistantText(Event):
    """A fragment of the model's text block `block` (a new block number after each tool call)."""

    turn_id: str
    block: int
    delta: str


@dataclass(frozen=True)
class AssistantToolCall(Event):
    """The model called a tool; its result follows as AssistantToolResult."""

    turn_id: str
    call_id: str
    name: str
    arguments: dict[str, object]


@dataclass(frozen=True)
class AssistantToolResult(Event):
    turn_id: str
    call_id: str
    summary: str
    failed: bool


@dataclass(frozen=True)
class AssistantActionChanged(Event):
    """A pending action was created (PENDING) or decided."""

    action: PendingAction


@dataclass(frozen=True)
class AssistantFailed(Event):
    """A turn failed; `assistant.retry()` sends it again."""

    turn_id: str
    failure: AssistantFailure


@dataclass(frozen=True)
class AssistantNote(Event):
    """Something the user should know that is not the model's text (a trimmed conversation)."""

    text: str


@dataclass(frozen=True)
class AssistantTurnEnded(Event):
    turn_id: str
    cancelled: bool


Subscriber = Callable[[Event], object]  # what it returns is ignored (post_message: a bool)
Cancel = Callable[[], object]
# Calls a function after a delay, in some thread; returns what cancels the call.
Schedule = Callable[[float, Callable[[], None]], Cancel]


def timer_schedule(delay: float, callback: Callable[[], None]) -> Cancel:
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()
    return timer.cancel


class ChangeCoalescer:
    """Merges the DataChanged events of a window into one (see the module's docstring)."""

    def __init__(self, deliver: Subscriber, window_secs: float, schedule: Schedule) -> None:
        self._deliver = deliver
        self._window_secs = window_secs
        self._schedule = schedule
        self._lock = threading.Lock()
        self._cancel: Cancel | None = None  # set while a window is open
        self._held: dict[str, None] = {}  # origins of the changes held, in order of arrival

    def add(self, event: DataChanged) -> None:
        with self._lock:
            if self._cancel is not None:
                self._held[event.origin] = None
                return
            self._open_window()
        self._deliver(event)

    def close(self) -> None:
        """Cancel the open window, delivering what it held: no change is ever dropped."""
        with self._lock:
            if self._cancel is not None:
                self._cancel()
            self._cancel = None
            held = self._take_held()
        if held is not None:
            self._deliver(held)

    def _window_ended(self) -> None:
        with self._lock:
            held = self._take_held()
            # Changes went on during the window: open another, so the rate stays bounded.
            self._cancel = None
            if held is not None:
                self._open_window()
        if held is not None:
            self._deliver(held)

    def _open_window(self) -> None:
        self._cancel = self._schedule(self._window_secs, self._window_ended)

    def _take_held(self) -> DataChanged | None:
        origins, self._held = list(self._held), {}
        return DataChanged(origin=", ".join(origins)) if origins else None


class EventBus:
    def __init__(
        self, coalesce_secs: float = COALESCE_SECS, schedule: Schedule = timer_schedule
    ) -> None:
        self._subscribers: list[tuple[Subscriber, tuple[type[Event], ...]]] = []
        self._lock = threading.Lock()
        self._changes = ChangeCoalescer(self._deliver, coalesce_secs, schedule)

    def subscribe(self, subscriber: Subscriber, *types: type[Event]) -> Callable[[], None]:
        """Register `subscriber` for events of `types` (all events when none are given);
        returns a function that unregisters it."""
        entry = (subscriber, types or (Event,))
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, event: Event) -> None:
        if isinstance(event, DataChanged):
            self._changes.add(event)
        else:
            self._deliver(event)

    def close(self) -> None:
        """Deliver any change still held back; called when the service stops."""
        self._changes.close()

    def _deliver(self, event: Event) -> None:
        with self._lock:
            subscribers = [s for s, types in self._subscribers if isinstance(event, types)]
        for subscriber in subscribers:
            subscriber(event)


def publishing_log(bus: EventBus, job_id: str, on_log: InputLogCallback | None) -> InputLogCallback:
    """One input's log callback that also publishes each line as a RunLog of `job_id`."""

    def log(level: int, text: str) -> None:
        bus.publish(RunLog(job_id, level, text))
        if on_log is not None:
            on_log(level, text)

    return log


def publishing_session_log(bus: EventBus, on_log: SessionLogCallback | None) -> SessionLogCallback:
    """A session's log callback that also publishes each line as a RunLog."""

    def log(job_id: str | None, level: int, text: str) -> None:
        bus.publish(RunLog(job_id, level, text))
        if on_log is not None:
            on_log(job_id, level, text)

    return log
