"""Turns at a file that one process at a time may open: a DuckDB database.

DuckDB locks its file for the process that opens it to write, and a second process's open fails
at once ("Could not set lock on file"): `casparian run` beside the daemon, both writing one
DuckDB sink, failed. So writers take turns, with two `flock` locks on files beside it:
- `{file}.lock`, held exclusively by the process whose turn it is (its sinks' connections are
  open). Within a process, every sink of the file shares the turn (a count): flock locks of two
  descriptors of one process would exclude each other.
- `{file}.lock.wait`, held shared by each process waiting for its turn, so the holder can tell,
  at the end of each input's commit, that someone waits and hand the turn over (its sinks close
  their connections and take the turn again when they next need it).
A turn is waited for up to WAIT_SECS, then a SinkError names the process holding it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from casparian_core.sinks.base import SinkError

WAIT_SECS = 600.0  # an input being written by the other process may take minutes
POLL_SECS = 0.02


@dataclass
class _Turn:
    descriptor: int
    holders: int = 0


_TURNS: dict[Path, _Turn] = {}
_TURNS_LOCK = threading.Lock()
_WAITING: dict[Path, threading.Lock] = {}  # one thread of this process waits per file


def take(path: Path, wait_secs: float | None = None) -> None:
    """Wait for this process's turn at `path` (or join the turn it has); raises SinkError when
    another process keeps it longer than `wait_secs` (default WAIT_SECS)."""
    if _join(path):
        return
    with _TURNS_LOCK:
        waiting = _WAITING.setdefault(path, threading.Lock())
    with waiting:  # not _TURNS_LOCK: turns at other files are taken and given back meanwhile
        if _join(path):
            return
        descriptor = _wait_for_turn(path, WAIT_SECS if wait_secs is None else wait_secs)
        with _TURNS_LOCK:
            _TURNS[path] = _Turn(descriptor, holders=1)


def _join(path: Path) -> bool:
    with _TURNS_LOCK:
        turn = _TURNS.get(path)
        if turn is not None:
            turn.holders += 1
        return turn is not None


def give_back(path: Path) -> None:
    """One holder of this process's turn is done; the last one ends the turn."""
    with _TURNS_LOCK:
        turn = _TURNS[path]
        turn.holders -= 1
        if turn.holders == 0:
            del _TURNS[path]
            os.close(turn.descriptor)  # releases the flock


def someone_waits(path: Path) -> bool:
    """Whether another process waits for its turn at `path`."""
    try:
        descriptor = os.open(_wait_file(path), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def _wait_for_turn(path: Path, wait_secs: float) -> int:
    descriptor = _open(_lock_file(path))
    if _try_lock(descriptor):
        _note_holder(descriptor)
        return descriptor
    waiting = _open(_wait_file(path))
    fcntl.flock(waiting, fcntl.LOCK_SH)  # the holder sees it and hands the turn over
    try:
        deadline = time.monotonic() + wait_secs
        while not _try_lock(descriptor):
            if time.monotonic() > deadline:
                holder = _holder(path)
                os.close(descriptor)
                raise SinkError(
                    f"{path}: another process ({holder}) has been writing this DuckDB file for "
                    f"more than {wait_secs:g} s; wait for it to finish (a `casparian process`, "
                    "`run` or the daemon), or choose another --sink"
                )
            time.sleep(POLL_SECS)
    finally:
        os.close(waiting)
    _note_holder(descriptor)
    return descriptor


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise SinkError(
            f"{path}: cannot create the lock file that lets processes take turns at the DuckDB "
            f"file ({error.strerror}); check the folder's permissions"
        ) from error


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _note_holder(descriptor: int) -> None:
    """Write this process's id into the lock file, for a waiter's message."""
    with contextlib.suppress(OSError):
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()}".encode(), 0)


def _holder(path: Path) -> str:
    try:
        return _lock_file(path).read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def _lock_file(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _wait_file(path: Path) -> Path:
    return path.with_name(path.name + ".lock.wait")
