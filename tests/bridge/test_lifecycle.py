"""A guest never outlives its host, however the host ends and whatever the guest is doing.

Each test runs a real host process (lifecycle_host.py) with a real guest, ends the host, and
waits for the guest to be gone: the kernel's parent-death signal (Linux) and the guest's own
watch on its parent must end it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from casparian_core.bridge.host import GuestProcess
from casparian_core.config import Settings

from .conftest import WriteParser, run, wait_gone

HOST_SCRIPT = Path(__file__).with_name("lifecycle_host.py")

PARSERS = {
    "starting": "def parse(path):\n    return []\n",
    "idle": "def parse(path):\n    return [{'a': 1}]\n",
    "parsing": """
        import logging, time
        def parse(path):
            logging.getLogger().warning("parsing")
            time.sleep(3600)
            return []
        """,
    # Catastrophic backtracking: the re engine holds the GIL, so no thread of the guest runs.
    "parsing-in-c": """
        import logging, re
        def parse(path):
            logging.getLogger().warning("parsing")
            re.match(r"(a+)+$", "a" * 64 + "b")
            return []
        """,
    "writing": """
        import pyarrow as pa
        def parse(path):
            while True:
                yield pa.table({"blob": [b"x" * 1_000_000]})
        """,
}


class Host:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        assert process.stdout is not None
        self.guest_pid = int(process.stdout.readline())

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        # The host ends (code 3, its traceback on stderr) when its job failed instead.
        assert line == "ready", f"the host ended with code {self.process.wait()} before ready"


@pytest.fixture
def start_host(home: Path, write_parser: WriteParser) -> Iterator[object]:
    started: list[Host] = []

    def start(stage: str, ending: str = "wait") -> Host:
        parser = write_parser(textwrap.dedent(PARSERS[stage]))
        kind = "parsing" if stage == "parsing-in-c" else stage
        command = [sys.executable, str(HOST_SCRIPT), str(home), str(parser), kind, ending]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        started.append(Host(process))
        return started[-1]

    yield start
    for host in started:
        host.process.kill()
        host.process.wait()


@pytest.mark.parametrize("stage", ["idle", "parsing", "writing"])
@pytest.mark.parametrize("ending", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_a_signalled_host_takes_its_guest_with_it(
    start_host: object, stage: str, ending: signal.Signals
) -> None:
    host = start_host(stage)  # type: ignore[operator]
    host.wait_ready()
    host.process.send_signal(ending)
    assert host.process.wait() == -ending
    wait_gone(host.guest_pid)


@pytest.mark.parametrize("stage", ["idle", "parsing", "writing"])
@pytest.mark.parametrize("ending", ["exception", "segfault"])
def test_a_crashed_host_takes_its_guest_with_it(
    start_host: object, stage: str, ending: str
) -> None:
    host = start_host(stage, ending)  # type: ignore[operator]
    host.wait_ready()
    returncode = host.process.wait()
    assert returncode == (1 if ending == "exception" else -signal.SIGSEGV)
    wait_gone(host.guest_pid)


def test_a_host_killed_while_its_guest_starts_takes_it_with_it(start_host: object) -> None:
    """The leak once seen: a host that died before its guest had asked who its parent was left
    a guest whose parent check compared init with init, forever."""
    host = start_host("starting", "sigkill")  # type: ignore[operator]
    assert host.process.wait() == -signal.SIGKILL
    wait_gone(host.guest_pid)


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_parser_holding_the_gil_in_c_code_still_ends_with_its_host(start_host: object) -> None:
    host = start_host("parsing-in-c")  # type: ignore[operator]
    host.wait_ready()
    host.process.kill()
    assert host.process.wait() == -signal.SIGKILL
    wait_gone(host.guest_pid)  # fails the test when the guest outlives its host


def test_a_guest_launched_from_a_thread_that_ended_still_serves(
    settings: Settings, write_parser: WriteParser
) -> None:
    """The parent-death signal follows the thread that forked: a guest launched from a worker
    thread (as the TUI does) must not die when that thread ends."""
    parser = write_parser("def parse(path):\n    return [{'a': 1}]\n")
    with GuestProcess(settings) as guest:
        # The worker's job is served once the guest has armed its parent-death signal.
        worker = threading.Thread(target=run, args=(guest, parser))
        worker.start()
        worker.join()
        outcome, collected = run(guest, parser)
    assert outcome.ok, outcome
    assert collected.rows("out") == [{"a": 1}]
