"""Child processes that end with us, and take their descendants with them.

One way to start and stop the processes we run: the bridge's guests, a scan's workers and,
next, the daemon's workers. A child started here
- leads its own session and process group: a terminal's Ctrl+C (sent to the foreground group)
  is not its signal, and one signal to its group reaches the processes it started;
- is forked from a thread that lasts as long as this process: Linux's parent-death signal fires
  when the *thread* that forked the child ends, so a child launched from a short-lived worker
  thread (the TUI's) would die with that thread while we live on;
- can end itself with us: it calls `end_with_parent()` (or `confine.die_with_parent` with the
  pid it is given, for a guest that cannot import this package) before any long work;
- carries an id of its own in its environment, so that its descendants orphaned by a double
  fork and a setsid (in no process tree or session of it any more) are still recognised as
  its own: this process is a child subreaper (Linux), so such orphans come back to us.

`Child.stop` ends it and every such descendant: SIGTERM to its group, a grace period, then
SIGKILL to its group, its tree and its orphans, and reaps them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, TypeVar

from casparian_core.bridge import confine
from casparian_core.processes import process_exists

# The environment variables a child is started with: its id (recognises its descendants) and
# our pid (so it can end when we do).
CHILD_ID_VARIABLE = "CASPARIAN_CHILD_ID"
PARENT_PID_VARIABLE = "CASPARIAN_PARENT_PID"
KILL_ROUNDS = 10  # descendants may fork while they are killed: look again, this many times
REAP_SECS = 5.0
REAP_POLL_SECS = 0.01

Stream = int | IO[Any] | None


class Child(subprocess.Popen[bytes]):
    """A process started by `start`: a Popen that knows how to end with its descendants."""

    child_id: str = ""

    def stop(self, grace_secs: float = 0.0) -> int:
        """End the child and every process descending from it, reap them, and return the
        child's exit status. With `grace_secs`, the child's group first gets SIGTERM and that
        long to exit on its own (to flush, to remove its files); then everything left is
        killed."""
        import psutil

        tree = _tree(psutil, self.pid)  # taken while it lives: includes children that setsid
        if grace_secs > 0 and self.poll() is None:
            _signal_group(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.wait(grace_secs)
        _signal_group(self.pid, signal.SIGKILL)  # it leads its own group and session
        killed = _kill(psutil, tree)
        returncode = self.wait()  # dead, its children are reparented: to us (Linux), or to init
        for _ in range(KILL_ROUNDS):
            orphans = [
                process
                for process in _orphans(psutil, self.pid, self.child_id)
                if process.pid not in killed
            ]
            if not orphans:
                break
            killed |= _kill(psutil, orphans)
        _reap(killed)
        return returncode


def start(
    command: list[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
    pass_fds: tuple[int, ...] = (),
) -> Child:
    """Start `command` as a child that ends with us (see the module's docstring). `env` is its
    whole environment (ours when None), to which its id and our pid are added."""
    become_subreaper()
    child_id = uuid.uuid4().hex
    child_env = dict(os.environ if env is None else env)
    child_env.update({CHILD_ID_VARIABLE: child_id, PARENT_PID_VARIABLE: str(os.getpid())})

    def launch() -> Child:
        return Child(
            command,
            env=child_env,
            # Its own session: our signals are not its signals, and killpg reaches its children.
            start_new_session=True,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            pass_fds=pass_fds,
        )

    child = on_lasting_thread(launch)
    child.child_id = child_id
    _run_where_we_run(child.pid)
    return child


def _run_where_we_run(pid: int) -> None:
    """Give the child the CPUs and scheduling policy of the thread that asked for it (started
    by the lasting thread, it would have that thread's): a worker's guest runs beside it, as
    batch work too (jobs/cpu_shares.py). Its threads start after Python's, so they follow."""
    if hasattr(os, "sched_setaffinity") and hasattr(os, "sched_setscheduler"):
        with contextlib.suppress(OSError):  # it ended already
            os.sched_setaffinity(pid, os.sched_getaffinity(0))
            os.sched_setscheduler(pid, os.sched_getscheduler(0), os.sched_param(0))


def end_with_parent() -> bool:
    """Called by a child started by `start`, first thing: the kernel kills it when we end
    (Linux), and it exits at once if we already have. Returns whether the kernel will."""
    return confine.die_with_parent(int(os.environ[PARENT_PID_VARIABLE]))


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux): a child's descendants orphaned by their
    parent's exit (a double fork, setsid) are reparented to us instead of init, so `stop`
    finds them. Idempotent; returns whether it took effect."""
    return sys.platform == "linux" and confine.prctl(confine.PR_SET_CHILD_SUBREAPER, 1)


_T = TypeVar("_T")
_launcher: ThreadPoolExecutor | None = None
_launcher_lock = threading.Lock()


def on_lasting_thread(launch: Callable[[], _T]) -> _T:
    """Run `launch` (a process launch) on a thread that lives as long as this process."""
    global _launcher
    with _launcher_lock:
        if _launcher is None:
            _launcher = ThreadPoolExecutor(1, thread_name_prefix="child-launcher")
    return _launcher.submit(launch).result()


def _signal_group(pid: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, number)


def _tree(psutil: Any, pid: int) -> list[Any]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def _kill(psutil: Any, processes: Iterable[Any]) -> set[int]:
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()
    return {process.pid for process in processes}


def _orphans(psutil: Any, child_pid: int, child_id: str) -> Iterable[Any]:
    for adopted in psutil.Process().children():
        if _belongs_to(psutil, adopted, child_pid, child_id):
            yield adopted
            yield from _tree(psutil, adopted.pid)


def _belongs_to(psutil: Any, process: Any, child_pid: int, child_id: str) -> bool:
    try:
        if os.getsid(process.pid) == child_pid:
            return True
        return bool(process.environ().get(CHILD_ID_VARIABLE) == child_id)
    except (OSError, psutil.Error):
        return False


def _reap(pids: set[int]) -> None:
    """Wait for killed processes to end, reaping those that are (or become) our children: a
    killed process's own children are reparented to us only once it has exited."""
    pending = set(pids)
    deadline = time.monotonic() + REAP_SECS
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                reaped, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not ours (yet): done once it is gone
                reaped = 0 if process_exists(pid) else pid
            if reaped:
                pending.discard(pid)
        if pending:
            time.sleep(REAP_POLL_SECS)
