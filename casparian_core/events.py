"""Typed events the core publishes, and the bus that delivers them.

Subscribers are plain callables. They may be called from worker threads (scans and runs publish
from threads), so a subscriber must be thread-safe: Textual's `post_message` is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Event:
    """Base class of everything the core publishes."""


@dataclass(frozen=True)
class DataChanged(Event):
    """Something in the control plane or the outputs changed; `origin` says who changed it."""

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


Subscriber = Callable[[Event], object]  # what it returns is ignored (post_message: a bool)


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Register `subscriber`; returns a function that unregisters it."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber(event)
