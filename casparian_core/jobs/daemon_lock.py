"""The daemon's lock and its state file: one daemon per home, and what `status` says of it.

The lock is an exclusive `flock` on `{home}/daemon.lock`, held for the daemon's whole life. The
kernel drops it when the process ends, however it ends (kill -9 included), so a lock left by a
dead daemon is simply taken by the next one; the pid written in the file only names the holder
in messages. The file is opened without following a symlink, must belong to us, and is made
readable and writable by us only: another local user can neither take the lock nor plant a
file that makes us write elsewhere.

The state (`{home}/daemon.json`: pid, start time, workers, sink, jobs done) is replaced whole
(written beside it, then renamed), so a reader never sees half of it. It is believed only while
the lock is held: a state file left by a killed daemon describes nothing that runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from casparian_core.errors import CasparianError, ErrorCode

LOCK_NAME = "daemon.lock"
STATE_NAME = "daemon.json"
PRIVATE = 0o600
# `status` probes the lock by taking it for an instant: a `start` at that very moment retries
# for this long before concluding that a daemon holds it.
ACQUIRE_SECS = 1.0
ACQUIRE_STEP_SECS = 0.05


class DaemonRunningError(CasparianError):
    error_code = ErrorCode.DAEMON_RUNNING

    def __init__(self, home: Path, pid: int | None) -> None:
        holder = "another process" if pid is None else f"the process {pid}"
        super().__init__(
            f"A daemon already runs on the home {home}: {holder} holds {home / LOCK_NAME}. "
            "`casparian status` shows it, `casparian stop` ends it."
        )


class DaemonLockUnsafeError(CasparianError):
    error_code = ErrorCode.DAEMON_LOCK_UNSAFE

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(
            f"The daemon's lock file {path} {why}: another user may have placed it. Check "
            "who owns the home, remove the file, and start the daemon again."
        )


@dataclass(frozen=True)
class DaemonState:
    """What a running daemon says of itself."""

    pid: int
    started_at: str
    workers: int
    sink: str
    jobs_done: int = 0  # jobs it finished (completed, failed or dead-lettered) since it started
    jobs_failed: int = 0
    batches: int = 0  # batches of new and changed files it planned and queued

    def as_json(self) -> dict[str, object]:
        return {"running": True, **asdict(self)}


class DaemonLock:
    """Held by the running daemon: `acquire` once, `write_state` as it goes, `release` at
    the end (or the kernel does, when the process dies)."""

    def __init__(self, home: Path) -> None:
        self._home = home
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise DaemonRunningError (naming the holder's pid) or
        DaemonLockUnsafeError."""
        fd = _open_private(self._home / LOCK_NAME)
        try:
            if not _try_lock(fd, fcntl.LOCK_EX, patient=True):
                raise DaemonRunningError(self._home, _holder(fd))
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def write_state(self, state: DaemonState) -> None:
        path = self._home / STATE_NAME
        scratch = path.with_name(f".{STATE_NAME}.{os.getpid()}")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(state), handle)
        os.replace(scratch, path)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            (self._home / STATE_NAME).unlink()
        os.close(self._fd)  # closing the only descriptor drops the flock
        self._fd = None


def daemon_state(home: Path) -> DaemonState | None:
    """The running daemon's state, or None when no daemon holds the home's lock."""
    path = home / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except (FileNotFoundError, OSError):
        return None
    try:
        if _try_lock(fd, fcntl.LOCK_SH, patient=False):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        pid = _holder(fd)
    finally:
        os.close(fd)
    try:
        data = json.loads((home / STATE_NAME).read_text())
        return DaemonState(**data)
    except (OSError, ValueError, TypeError):
        # Started a moment ago, its state not written yet: the lock and its pid still say it runs.
        return DaemonState(pid=pid or 0, started_at="", workers=0, sink="")


def _open_private(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, PRIVATE)
    except OSError as exc:
        raise DaemonLockUnsafeError(path, f"cannot be opened ({exc.strerror})") from None
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise DaemonLockUnsafeError(path, "is not a regular file of ours")
    if stat.S_IMODE(info.st_mode) != PRIVATE:
        os.fchmod(fd, PRIVATE)
    return fd


def _try_lock(fd: int, kind: int, *, patient: bool) -> bool:
    deadline = time.monotonic() + (ACQUIRE_SECS if patient else 0.0)
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(ACQUIRE_STEP_SECS)


def _holder(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
