"""The child-process helper the bridge and the scan workers share: a child ends with us, and
stopping it ends its descendants too. Real processes, no mocks."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from casparian_core import children
from tests.bridge.conftest import wait_gone

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="parent-death is Linux's")

# A child that starts a grandchild (in its own session or not), says its pid, and sleeps.
WITH_GRANDCHILD = """
import subprocess, sys, time
grandchild = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(3600)"], start_new_session={setsid}
)
print(grandchild.pid, flush=True)
time.sleep(3600)
"""

# A child that answers one line on its stdin, then sleeps (deaf to its parent's end, but for
# the parent-death signal), ending with its parent.
ECHO = """
import sys, time
from casparian_core import children
children.end_with_parent()
print(sys.stdin.readline().strip(), flush=True)
time.sleep(3600)
"""

# A parent that starts ECHO from a thread that ends at once, checks that the child outlived
# that thread, prints the child's pid and waits (to be killed).
PARENT = """
import subprocess, sys, threading, time
from casparian_core import children
started = []
thread = threading.Thread(
    target=lambda: started.append(children.start(
        [sys.executable, "-c", {echo!r}], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ))
)
thread.start()
thread.join()
[child] = started
child.stdin.write(b"alive\\n")
child.stdin.flush()
assert child.stdout.readline() == b"alive\\n"
print(child.pid, flush=True)
time.sleep(3600)
"""


@pytest.fixture
def started() -> Iterator[list[children.Child]]:
    """The children a test starts; stopped at its end whatever happened."""
    made: list[children.Child] = []
    yield made
    for child in made:
        child.stop()


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


@pytest.mark.parametrize("setsid", [False, True], ids=["same-session", "own-session"])
def test_stopping_a_child_ends_its_grandchild_and_reaps_both(
    started: list[children.Child], setsid: bool
) -> None:
    child = children.start(python(WITH_GRANDCHILD.format(setsid=setsid)), stdout=subprocess.PIPE)
    started.append(child)
    assert child.stdout is not None
    grandchild = int(child.stdout.readline())
    assert psutil.Process(grandchild).status() != psutil.STATUS_ZOMBIE

    assert child.stop() == -signal.SIGKILL

    # Killed and reaped: no process, not even a zombie, is left.
    assert not psutil.pid_exists(child.pid)
    assert not psutil.pid_exists(grandchild)


def test_a_child_leads_its_own_process_group_and_carries_its_id(
    started: list[children.Child],
) -> None:
    code = "import os; print(os.getpgrp(), os.environ['CASPARIAN_CHILD_ID'], flush=True)"
    child = children.start(python(code), stdout=subprocess.PIPE, env={"PATH": "/usr/bin"})
    started.append(child)
    assert child.stdout is not None
    group, child_id = child.stdout.readline().split()
    assert (int(group), child_id.decode()) == (child.pid, child.child_id)
    assert child.wait() == 0


def test_a_child_gets_the_grace_period_to_end_on_its_own(
    started: list[children.Child], tmp_path: Path
) -> None:
    done = tmp_path / "cleaned-up"
    code = f"""
    import pathlib, signal, sys, time
    def finish(number, frame):
        pathlib.Path({str(done)!r}).write_text("yes")
        sys.exit(0)
    signal.signal(signal.SIGTERM, finish)
    print("ready", flush=True)
    time.sleep(3600)
    """
    child = children.start(python(code), stdout=subprocess.PIPE)
    started.append(child)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"

    assert child.stop(grace_secs=60) == 0  # a bound, never reached: it ends on SIGTERM

    assert done.read_text() == "yes"


def test_a_child_deaf_to_sigterm_is_killed_after_the_grace_period(
    started: list[children.Child],
) -> None:
    code = """
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ready", flush=True)
    time.sleep(3600)
    """
    child = children.start(python(code), stdout=subprocess.PIPE)
    started.append(child)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"

    assert child.stop(grace_secs=0.1) == -signal.SIGKILL


@linux_only
def test_a_child_ends_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        python(PARENT.format(echo=textwrap.dedent(ECHO))), stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        # The child answered after the thread that started it had ended: it outlived it.
        child = int(parent.stdout.readline())
        assert psutil.Process(child).status() != psutil.STATUS_ZOMBIE
    finally:
        parent.kill()
        parent.wait()

    wait_gone(child)
