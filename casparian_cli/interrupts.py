"""Stopping a run in two steps: the first Ctrl+C (or SIGTERM, for the daemon) stops claiming and
lets running jobs finish; the second puts them back in the queue. Nothing partial is committed
either way."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Stoppable(Protocol):
    def __call__(self, *, abandon: bool) -> None: ...


@contextmanager
def two_step_stop(
    stop: Stoppable,
    *,
    jobs: str = "running jobs",
    kept: str = "",
    signals: tuple[signal.Signals, ...] = (signal.SIGINT,),
) -> Iterator[None]:
    """While the block runs in the event loop, each of `signals` calls `stop`, with
    `abandon=False` the first time and True after, and says on stderr what happens to `jobs`
    (`kept` adds what else stays as it was)."""
    loop = asyncio.get_running_loop()
    received = 0
    again = "Ctrl+C again" if signals == (signal.SIGINT,) else "a second signal"

    def on_signal() -> None:
        nonlocal received
        received += 1
        stop(abandon=received > 1)
        print(
            f"casparian: stopping: {jobs} finish ({again} puts them back in the queue{kept})"
            if received == 1
            else f"casparian: stopping now: {jobs} go back to the queue",
            file=sys.stderr,
            flush=True,
        )

    for number in signals:
        loop.add_signal_handler(number, on_signal)
    try:
        yield
    finally:
        for number in signals:
            loop.remove_signal_handler(number)
