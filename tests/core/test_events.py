"""The event bus: typed subscriptions, and DataChanged coalesced into one event per window."""

from __future__ import annotations

import threading
from collections.abc import Callable

from casparian_core.events import (
    DataChanged,
    Event,
    EventBus,
    JobChanged,
    RunLog,
    ScanProgress,
)
from casparian_core.jobs.status import JobStatus


class ManualSchedule:
    """Runs the scheduled calls when the test says so: windows end on demand, not by time."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []
        self.cancelled = 0

    def __call__(self, delay: float, callback: Callable[[], None]) -> Callable[[], None]:
        self.pending.append(callback)

        def cancel() -> None:
            self.cancelled += 1
            self.pending.remove(callback)

        return cancel

    def end_window(self) -> None:
        callback = self.pending.pop(0)
        callback()


def progress(seen: int) -> ScanProgress:
    return ScanProgress(source="s", seen=seen, new=0, changed=0, current_dir="d")


def test_a_subscriber_receives_only_the_types_it_names() -> None:
    bus = EventBus(schedule=ManualSchedule())
    logs: list[Event] = []
    everything: list[Event] = []
    bus.subscribe(logs.append, RunLog, JobChanged)
    bus.subscribe(everything.append)
    events = [progress(1), RunLog("j", 20, "hello"), JobChanged("j", JobStatus.RUNNING)]
    for event in events:
        bus.publish(event)
    assert logs == events[1:]
    assert everything == events


def test_many_changes_in_a_window_arrive_as_one() -> None:
    schedule = ManualSchedule()
    bus = EventBus(schedule=schedule)
    received: list[Event] = []
    bus.subscribe(received.append, DataChanged)

    bus.publish(DataChanged("scout"))
    assert received == [DataChanged("scout")]  # the first change is not delayed
    for _ in range(100):
        bus.publish(DataChanged("scout"))
        bus.publish(DataChanged("parser_bench"))
    assert received == [DataChanged("scout")]

    schedule.end_window()
    assert received == [DataChanged("scout"), DataChanged("scout, parser_bench")]
    # Changes went on during that window, so another opened; it ends with nothing held.
    schedule.end_window()
    assert schedule.pending == []
    assert len(received) == 2

    bus.publish(DataChanged("another process"))  # a quiet bus delivers at once again
    assert received[-1] == DataChanged("another process")


def test_other_events_are_never_held_back() -> None:
    bus = EventBus(schedule=ManualSchedule())
    received: list[Event] = []
    bus.subscribe(received.append)
    bus.publish(DataChanged("scout"))
    bus.publish(DataChanged("scout"))  # held for the window's end
    for seen in range(10):
        bus.publish(progress(seen))
    assert received == [DataChanged("scout")] + [progress(seen) for seen in range(10)]


def test_close_delivers_what_the_window_held() -> None:
    schedule = ManualSchedule()
    bus = EventBus(schedule=schedule)
    received: list[Event] = []
    bus.subscribe(received.append)
    bus.publish(DataChanged("scout"))
    bus.publish(DataChanged("parser_bench"))
    bus.close()
    assert received == [DataChanged("scout"), DataChanged("parser_bench")]
    assert schedule.cancelled == 1 and schedule.pending == []


def test_the_real_timer_delivers_the_held_change() -> None:
    bus = EventBus(coalesce_secs=0.01)
    received: list[Event] = []
    arrived = threading.Event()

    def collect(event: Event) -> None:
        received.append(event)
        if len(received) == 2:
            arrived.set()

    bus.subscribe(collect)
    for origin in ("a", "b", "c", "b"):
        bus.publish(DataChanged(origin))
    assert arrived.wait(timeout=30)
    bus.close()
    assert received == [DataChanged("a"), DataChanged("b, c")]
