"""Finding the processes a test started by their command line."""

from __future__ import annotations

import time

import psutil

# For this long a child just started may show an empty command line: Popen returns once the
# exec closed its pipe, and the kernel sets up the new program's arguments just after that.
EXEC_SETTLE_SECS = 2.0


def children_running(argument: str, *, recursive: bool = False) -> list[psutil.Process]:
    """This process's live children (and their descendants, with `recursive`) with `argument`
    in their command line (a module run with `-m`, say). Zombies and ended ones are left out."""
    return [
        child
        for child in psutil.Process().children(recursive=recursive)
        if argument in _command_line(child)
    ]


def _command_line(process: psutil.Process) -> list[str]:
    deadline = time.monotonic() + EXEC_SETTLE_SECS
    while True:
        try:
            command = process.cmdline()
            if command or process.status() == psutil.STATUS_ZOMBIE:
                return command
        except psutil.Error:  # a zombie, or gone meanwhile
            return []
        if time.monotonic() > deadline:
            return []
        time.sleep(0.01)
