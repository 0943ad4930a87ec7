"""A guest that dies at any moment costs the input it held (CRASHED, or a retry that succeeds),
never the host: no exception escapes, every input gets its result, committed output is whole."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zmq

from casparian_core.bridge.host import GuestProcess
from casparian_core.bridge.protocol import ErrorCode, Job
from casparian_core.config import Settings
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.engine.run import run_parser
from tests.bridge.conftest import Collected, WriteParser

WAIT_SECS = 30
ROWS_PER_INPUT = 300
INPUTS_PER_RUN = 4
ITERATIONS = 12

# Closes the guest's own connection to the host, says so in a marker file (in its TMPDIR, the
# only folder it may write), then lives on: the host's next send finds no peer (EHOSTUNREACH)
# while the process still runs.
DROP_CONNECTION = """
    import gc, os, pathlib, time
    def parse(path):
        if path.endswith("dropped"):
            [guest] = [o for o in gc.get_objects() if type(o).__name__ == "Guest"]
            guest._socket.close(linger=0)
            pathlib.Path(os.environ["TMPDIR"], "dropped").touch()
            time.sleep(60)
        return [{"path": path}]
"""

STRESS_PARSER = """
    name = "stress"
    version = "1.0.0"
    outputs = {"stress": {"id": {"type": "int64", "nullable": False}}}
    def parse(path):
        import time
        import pyarrow.csv as csv
        time.sleep(0.05)  # a guest lives long enough for the killer's random delays to hit
        table = csv.read_csv(path)
        half = table.num_rows // 2
        yield table.slice(0, half)
        yield table.slice(half)
"""


def wait_until_unroutable(socket: zmq.Socket[bytes], routing_id: bytes, marker: Path) -> None:
    """Return once the peer `routing_id` has closed its connection (it then creates `marker`)
    and the ROUTER has dropped it. Probes sent meanwhile die with the connection."""
    deadline = time.monotonic() + WAIT_SECS
    while time.monotonic() < deadline:
        if marker.exists():
            try:
                socket.send_multipart([routing_id, b"probe"], flags=zmq.DONTWAIT)
            except zmq.ZMQError as exc:
                if exc.errno == zmq.EHOSTUNREACH:
                    return
        socket.poll(10)  # lets the socket process the connection's end
    raise AssertionError("the guest's connection never dropped")


def test_a_job_sent_to_a_guest_that_lost_its_connection_is_not_an_exception(
    guest: GuestProcess, write_parser: WriteParser, tmp_path: Path
) -> None:
    parser = write_parser(DROP_CONNECTION)
    first, second = Collected(), Collected()
    guest.start_job(Job("job-1", str(parser), "dropped", "out", None))
    assert guest._socket is not None and guest._gate is not None
    assert guest.private_dir is not None
    marker = Path(guest.private_dir, "dropped")
    wait_until_unroutable(guest._socket, guest._gate.main_id, marker)
    guest.start_job(Job("job-2", str(parser), "fine", "out", None))  # raised ZMQError before
    dropped = guest.finish_job(first.on_data)
    served = guest.finish_job(second.on_data)
    assert dropped.error_code == ErrorCode.CRASHED
    assert served.ok and second.rows("out") == [{"path": "fine"}]


class GuestKiller:
    """SIGKILLs most of the guests launched meanwhile, each after a random delay from its
    launch, from a timer thread of its own. Signals go through a pidfd, so a reused pid is
    never hit."""

    def __init__(self, rng: random.Random, monkeypatch: pytest.MonkeyPatch) -> None:
        self._rng = rng
        self._timers: list[threading.Timer] = []
        self._pidfds: list[int] = []
        self.kills = 0
        launch = GuestProcess.launch

        def launch_and_doom(process: GuestProcess) -> None:
            before = process.pid
            launch(process)
            if process.pid is not None and process.pid != before:
                self._doom(os.pidfd_open(process.pid))  # before anyone can reap it

        monkeypatch.setattr(GuestProcess, "launch", launch_and_doom)

    def _doom(self, pidfd: int) -> None:
        self._pidfds.append(pidfd)
        if self._rng.random() < 0.8:
            # A random point in its life: start-up, a job, between jobs, shutting down.
            timer = threading.Timer(self._rng.uniform(0, 1.0), self._kill, (pidfd,))
            self._timers.append(timer)
            timer.start()

    def _kill(self, pidfd: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            self.kills += 1

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
            timer.join()
        for pidfd in self._pidfds:
            os.close(pidfd)


def test_guests_killed_at_random_points_fail_only_their_inputs(
    settings: Settings,
    write_parser: WriteParser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = write_parser(STRESS_PARSER)
    rng = random.Random(11)
    killer = GuestKiller(rng, monkeypatch)
    outcomes: set[tuple[str, str | None]] = set()
    try:
        for iteration in range(ITERATIONS):
            folder = tmp_path / f"run{iteration}"
            folder.mkdir()
            inputs = []
            for number in range(INPUTS_PER_RUN):
                ids = range(number * 1000, number * 1000 + ROWS_PER_INPUT)
                inputs.append(folder / f"in{number}.csv")
                inputs[-1].write_text("id\n" + "".join(f"{i}\n" for i in ids))
            sink = f"parquet://{folder / 'out'}"
            results = run_parser(parser, inputs, settings, RunOptions(sink))
            assert [r.input_path for r in results] == inputs
            expected: list[int] = []
            for number, result in enumerate(results):
                outcomes.add((result.status, result.error_code))
                assert (result.status, result.error_code) in {
                    (RunStatus.COMPLETED, None),
                    (RunStatus.FAILED, ErrorCode.CRASHED),
                }, result
                if result.status == RunStatus.COMPLETED:
                    expected += range(number * 1000, number * 1000 + ROWS_PER_INPUT)
            output = folder / "out" / "stress"
            ids = pq.read_table(output).column("id").to_pylist() if output.exists() else []
            assert sorted(ids) == expected
    finally:
        killer.stop()
    assert killer.kills > 0
    assert (RunStatus.COMPLETED, None) in outcomes
