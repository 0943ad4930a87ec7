"""Confining a guest: it ends with its host, its descendants end with it, and on Linux with
Landlock it can write nowhere but its private temporary folder.

The guest imports this module, like protocol.py: standard library only, importable on its own,
because the guest may run under another virtual environment's Python. The host starts and stops
guests with `casparian_core.children`, like every child process of ours.

Nothing here claims isolation it did not get: each restriction reports whether it took effect,
and `guest_isolation()` says in one sentence what is in force on this machine.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

# prctl(2) options
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

# Landlock: the syscall numbers are the same on every architecture (asm-generic 444-446).
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
# Every filesystem right each ABI knows: ABI 1 has bits 0-12, 2 adds REFER, 3 TRUNCATE, 5 IOCTL_DEV.
FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
# ABI 6: the guest may not signal processes, nor reach abstract Unix sockets, outside its domain
# (a parser cannot kill the host or talk to another program's abstract socket).
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

# Exit status of a guest that finds its host gone (nobody reads it: any value would do).
EXIT_HOST_GONE = 2
PRIVATE_DIR_PREFIX = "casparian-guest-"


# --- guest side (standard library only) ---------------------------------------------------


def die_with_parent(host_pid: int) -> bool:
    """Have the kernel kill this process when its parent ends (Linux); exit at once if the
    parent already ended, between its fork and this call. Returns whether the kernel will."""
    armed = sys.platform == "linux" and prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != host_pid:
        os._exit(EXIT_HOST_GONE)
    return armed


def watch_parent(host_pid: int, interval: float) -> threading.Thread:
    """Exit this process soon after its parent `host_pid` ends: the portable check (where there
    is no parent-death signal) and a second one beside it. A thread, so it runs while the main
    thread waits in a system call (a sleep, a blocking read or write, a full send queue)."""

    def watch() -> None:
        while os.getppid() == host_pid:
            time.sleep(interval)
        os._exit(EXIT_HOST_GONE)  # nobody reads our results any more

    thread = threading.Thread(target=watch, daemon=True, name="parent-watch")
    thread.start()
    return thread


def landlock_abi() -> int | None:
    """The Landlock ABI version of the running kernel, None where Landlock is absent."""
    if sys.platform != "linux":
        return None
    libc = _libc()
    version = libc.syscall(
        ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET),
        None,
        ctypes.c_size_t(0),
        ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION),
    )
    return version if version > 0 else None


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),  # ABI 4; left 0: the network is unhandled
        ("scoped", ctypes.c_uint64),  # ABI 6
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # packed in the kernel's header
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def restrict_writes(private_dir: str) -> int | None:
    """Landlock this process and its future children and threads, for good: read and execute
    anywhere, write only beneath `private_dir` (and to /dev/null). Call it before any other
    thread starts (a thread started earlier stays unrestricted). Returns the ABI used, or None
    where Landlock is absent (nothing was restricted); raises OSError when Landlock is there but
    refused the ruleset."""
    abi = landlock_abi()
    if abi is None:
        return None
    handled = FS_RIGHTS_BY_ABI[max(level for level in FS_RIGHTS_BY_ABI if level <= abi)]
    read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR | (handled & FS_IOCTL_DEV)
    # A rule on a file takes file rights only (no READ_DIR).
    null_device = FS_READ_FILE | FS_WRITE_FILE | (handled & (FS_TRUNCATE | FS_IOCTL_DEV))
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    libc = _libc()
    attr = _RulesetAttr(handled, 0, scoped)
    ruleset = _check(
        libc.syscall(
            ctypes.c_long(SYS_LANDLOCK_CREATE_RULESET),
            ctypes.byref(attr),
            ctypes.c_size_t(ctypes.sizeof(attr)),
            ctypes.c_uint32(0),
        )
    )
    try:
        for path, rights in (("/", read), (os.devnull, null_device), (private_dir, handled)):
            _allow(libc, ruleset, path, rights)
        if not prctl(PR_SET_NO_NEW_PRIVS, 1):
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        _check(
            libc.syscall(
                ctypes.c_long(SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)
            )
        )
    finally:
        os.close(ruleset)
    return abi


def _allow(libc: Any, ruleset: int, path: str, rights: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rule = _PathBeneathAttr(rights, fd)
        _check(
            libc.syscall(
                ctypes.c_long(SYS_LANDLOCK_ADD_RULE),
                ctypes.c_int(ruleset),
                ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
            )
        )
    finally:
        os.close(fd)


def _check(result: int) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"Landlock: {os.strerror(errno)}")
    return result


def prctl(option: int, value: int) -> bool:
    """prctl(2) with one argument (Linux); whether it succeeded."""
    return _libc().prctl(ctypes.c_int(option), ctypes.c_ulong(value), 0, 0, 0) == 0


def _libc() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


# --- host side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IsolationReport:
    """What confines a guest on this machine."""

    landlock_abi: int | None  # None: guests can write wherever the user can
    parent_death_signal: bool  # the kernel ends a guest whose host ended
    subreaper: bool  # a guest's orphaned descendants come back to the host, which ends them

    @property
    def filesystem_confined(self) -> bool:
        return self.landlock_abi is not None

    @property
    def description(self) -> str:
        if self.filesystem_confined:
            writes = (
                f"Landlock ABI {self.landlock_abi}: a parser reads its input and the system but "
                "writes only its private temporary folder"
            )
        else:
            writes = (
                "no filesystem confinement (Landlock is not available): a parser can write "
                "wherever this user can"
            )
        if self.parent_death_signal and self.subreaper:
            ends = "it and every process it starts end with the run"
        else:
            ends = "it ends with the run (checked each second); processes it starts may not"
        return f"{writes}; {ends}"

    def as_json(self) -> dict[str, object]:
        return {
            "landlock_abi": self.landlock_abi,
            "filesystem_confined": self.filesystem_confined,
            "parent_death_signal": self.parent_death_signal,
            "subreaper": self.subreaper,
            "description": self.description,
        }


def guest_isolation() -> IsolationReport:
    """The isolation guests get here (probed, not assumed)."""
    linux = sys.platform == "linux"
    return IsolationReport(landlock_abi(), parent_death_signal=linux, subreaper=linux)


_swept = False  # whether this process has removed abandoned guest folders yet


def new_private_dir() -> str:
    """A folder only this user can enter (0700), for one guest's temporary files. Its name
    holds this host's pid namespace and pid, so a later host removes it if this one is killed
    before it can (see `remove_abandoned_private_dirs`, run once per host process)."""
    global _swept
    if not _swept:
        _swept = True
        remove_abandoned_private_dirs(tempfile.gettempdir())
    return tempfile.mkdtemp(prefix=f"{PRIVATE_DIR_PREFIX}{_pid_namespace()}-{os.getpid()}-")


def remove_abandoned_private_dirs(folder: str) -> list[str]:
    """Remove this user's guest folders in `folder` whose host has ended (a host killed with
    SIGKILL leaves its guests' folders behind). Only hosts of this pid namespace are judged,
    since a pid means nothing in another; a host still running keeps its folders."""
    namespace, uid, removed = _pid_namespace(), os.getuid(), []
    with os.scandir(folder) as entries:
        for entry in entries:
            host = _host_of(entry.name)
            if host is None or host[0] != namespace or _running(host[1]):
                continue
            try:
                mine = entry.is_dir(follow_symlinks=False) and entry.stat().st_uid == uid
            except OSError:
                continue
            if mine:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    return removed


def _host_of(name: str) -> tuple[str, int] | None:
    """(pid namespace, pid) of the host that made the guest folder `name`, None for others."""
    if not name.startswith(PRIVATE_DIR_PREFIX):
        return None
    namespace, _, rest = name[len(PRIVATE_DIR_PREFIX) :].partition("-")
    pid, _, _ = rest.partition("-")
    return (namespace, int(pid)) if namespace and pid.isdigit() else None


def _pid_namespace() -> str:
    """This process's pid namespace, as the inode number Linux gives it ("0" elsewhere)."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: running
        return True
    return True


def remove_private_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
