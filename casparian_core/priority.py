"""Running background work behind the work that limits a scan.

A scan's writer is its bottleneck; its walkers and the path index's fill may lag. On a machine
short of cores they get a higher nice value, so the writer runs first.
"""

from __future__ import annotations

import contextlib
import os

MAX_NICENESS = 19


def lower_priority(pid: int, by: int) -> None:
    """Give the process `pid` (on Linux also a thread id) a nice value `by` above the calling
    thread's. Lowering a priority is always allowed; a process that already ended is left."""
    niceness = os.getpriority(os.PRIO_PROCESS, 0) + by
    with contextlib.suppress(ProcessLookupError):
        os.setpriority(os.PRIO_PROCESS, pid, min(niceness, MAX_NICENESS))
