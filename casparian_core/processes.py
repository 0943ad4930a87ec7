"""Our own processes: whether one that left files behind still runs, and running background
work behind the work that limits a scan.

Scratch files carry the id of the process writing them (`{pid}-...`), so a later run can tell
litter from a neighbour's work in progress. A scan's writer is its bottleneck; its walkers and
the path index's fill may lag, so on a machine short of cores they get a higher nice value.
"""

from __future__ import annotations

import contextlib
import os

MAX_NICENESS = 19


def left_by_dead_process(name: str) -> bool:
    """Whether a file or folder named `{pid}-...` was left by a process that no longer runs."""
    pid_text = name.partition("-")[0]
    return pid_text.isdigit() and not process_exists(int(pid_text))


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 is never sent: only whether the process exists is checked
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def lower_priority(pid: int, by: int) -> None:
    """Give the process `pid` (on Linux also a thread id) a nice value `by` above the calling
    thread's. Lowering a priority is always allowed; a process that already ended is left."""
    niceness = os.getpriority(os.PRIO_PROCESS, 0) + by
    with contextlib.suppress(ProcessLookupError):
        os.setpriority(os.PRIO_PROCESS, pid, min(niceness, MAX_NICENESS))
