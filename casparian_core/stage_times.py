"""Where a host's time goes, stage by stage, for the benchmarks: off unless asked.

With CASPARIAN_STAGE_TIMES naming a file, `stage(name)` adds the wall time of its block to the
stage's total (from any thread), and the process appends one JSON line to that file when it
exits: `{"pid": ..., "stages": {name: [count, seconds], ...}}`. The worker processes of a pool
inherit the variable, so each writes its own line, which also holds the CPU seconds of the
whole process (`PROCESS_CPU`: all its threads, not its children) and, added by the pools, of
their worker threads (`WORKER_CPU`). Without the variable, `stage` costs one
attribute test and nothing is recorded or written: normal runs print and keep nothing.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

VARIABLE = "CASPARIAN_STAGE_TIMES"
PROCESS_CPU = "CPU: the whole process (its threads, not its children)"
WORKER_CPU = "CPU: the worker threads"

_target = os.environ.get(VARIABLE) or None
_lock = threading.Lock()
_totals: dict[str, list[float]] = {}  # stage -> [count, seconds]
_NOT_TIMED = nullcontext()


def stage(name: str) -> AbstractContextManager[None]:
    """Time the block as stage `name` (when recording; otherwise a context that does nothing,
    shared: a generator per block cost a few microseconds a file, several times a file)."""
    return _NOT_TIMED if _target is None else _timed(name)


@contextmanager
def _timed(name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - start)


def add(name: str, seconds: float) -> None:
    """Count one occurrence of `name` that took `seconds` (a stage timed by its caller)."""
    if _target is None:
        return
    with _lock:
        total = _totals.setdefault(name, [0, 0.0])
        total[0] += 1
        total[1] += seconds


def enabled() -> bool:
    return _target is not None


def _write() -> None:
    if not _totals or _target is None:
        return
    add(PROCESS_CPU, time.process_time())
    line = json.dumps({"pid": os.getpid(), "stages": _totals}) + "\n"
    with open(_target, "a", encoding="utf-8") as out:  # one short append: lines never mix
        out.write(line)


if _target is not None:
    atexit.register(_write)


STARTUP_PREFIX = "start-up: "


def since_start(name: str) -> None:
    """Record, once, how long after this process started `name` happened (a stage named
    `STARTUP_PREFIX + name`: a time per process, not per file)."""
    if _target is None:
        return
    with _lock:
        if STARTUP_PREFIX + name not in _totals:
            _totals[STARTUP_PREFIX + name] = [1, _seconds_since_start()]


def _seconds_since_start() -> float:
    """From the kernel's start time of this process (in clock ticks since boot: 10 ms steps;
    psutil's create_time adds the boot time, known to the second only)."""
    with open("/proc/self/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()  # the name may hold spaces
    started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    return time.clock_gettime(time.CLOCK_BOOTTIME) - started
