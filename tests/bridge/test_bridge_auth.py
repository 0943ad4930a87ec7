"""The bridge admits only its own guest: a hostile local process, connecting before the guest or
during a run, guessing routing ids (the real ones too), replaying well-formed messages, gets no
row into a sink, no line into the log, and no message from the host; the real run completes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from casparian_core import children
from casparian_core.bridge import auth, host, protocol
from casparian_core.bridge.host import GuestProcess
from casparian_core.config import Settings
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.engine.run import run_parser
from tests.bridge.conftest import Collected, WriteParser, run
from tests.bridge.hostile_peer import INJECTED, INJECTED_ID

HOSTILE = Path(__file__).with_name("hostile_peer.py")
WAIT_SECS = 60

# Waits on its first input until the hostile peer is at work, so the attack overlaps the run.
PATIENT_PARSER = """
    name = "sales"
    version = "1.0.0"
    outputs = {"sales": {
        "id": {"type": "int64", "nullable": False},
        "note": {"type": "string"},
    }}
    def parse(path):
        import pathlib, time
        import pyarrow.csv as csv
        deadline = time.monotonic() + 60
        while not pathlib.Path(READY).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return csv.read_csv(path)
"""


class HostileAttack:
    """Starts hostile_peer.py against the first guest's socket: just before the guest process
    starts ("first": its sockets reach the port before the guest's) or just after ("during").
    It is told the guest's real routing ids, as if it had guessed them."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch, when: str) -> None:
        self.ready = folder / "hostile-ready"
        self._stop = folder / "hostile-stop"
        self._report = folder / "hostile-report.json"
        self._process: subprocess.Popen[bytes] | None = None
        self._routing_ids: list[str] = []
        popen = subprocess.Popen
        start = children.start
        hand_over = auth.Gate.hand_over

        def hand_over_noted(gate: auth.Gate) -> int:
            self._routing_ids = [gate.main_id.decode(), gate.heartbeat_id.decode()]
            return hand_over(gate)

        def start_attacked(command: list[str], **kwargs: Any) -> children.Child:
            is_guest = str(host.GUEST_SCRIPT) in command and self._process is None
            if is_guest and when == "first":
                self._start(popen, command)
                self._wait_until_ready()
            started = start(command, **kwargs)
            if is_guest and when == "during":
                self._start(popen, command)
            return started

        monkeypatch.setattr(auth.Gate, "hand_over", hand_over_noted)
        monkeypatch.setattr(children, "start", start_attacked)

    def _start(self, popen: Any, guest_command: list[str]) -> None:
        [endpoint] = [arg.split("=", 1)[1] for arg in guest_command if "--endpoint=" in arg]
        paths = (self.ready, self._stop, self._report)
        command = [sys.executable, str(HOSTILE), endpoint, *map(str, paths), *self._routing_ids]
        self._process = popen(command)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + WAIT_SECS
        while not self.ready.exists():
            assert self._process is not None and self._process.poll() is None, "hostile died"
            assert time.monotonic() < deadline, "the hostile peer never got going"
            time.sleep(0.01)

    def stop(self) -> dict[str, int]:
        """Stop the attack; what the hostile peer received and how many rounds it sent."""
        assert self._process is not None, "the hostile peer was never started"
        self._wait_until_ready()
        self._stop.touch()
        assert self._process.wait(WAIT_SECS) == 0
        report: dict[str, int] = json.loads(self._report.read_text())
        return report


def all_notes(folder: Path) -> list[str]:
    """Every value of every string column of every Parquet file under `folder`."""
    notes = []
    for path in folder.rglob("*.parquet"):
        table = pq.read_table(path)
        for column in table.itercolumns():
            notes += [str(value) for value in column.to_pylist()]
    return notes


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain-secret", "curve"])
@pytest.mark.parametrize("when", ["first", "during"])
def test_a_hostile_peer_gets_nothing_in_and_nothing_out(
    settings: Settings,
    write_parser: WriteParser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    encrypt: bool,
    when: str,
) -> None:
    settings = settings.model_copy(update={"guest_encrypt_bridge": encrypt})
    attack = HostileAttack(tmp_path, monkeypatch, when)
    parser = write_parser(PATIENT_PARSER.replace("READY", repr(str(attack.ready))))
    inputs = []
    for number in range(3):
        inputs.append(tmp_path / f"in{number}.csv")
        inputs[-1].write_text(f"id,note\n{number},real\n")
    logs: list[str] = []
    out = tmp_path / "out"
    try:
        results = run_parser(
            parser,
            inputs,
            settings,
            RunOptions(f"parquet://{out}"),
            on_log=lambda job_id, level, text: logs.append(text),
        )
    finally:
        report = attack.stop()
    assert [r.status for r in results] == [RunStatus.COMPLETED] * 3
    assert sorted(pq.read_table(out / "sales").column("id").to_pylist()) == [0, 1, 2]
    assert INJECTED not in all_notes(out) and str(INJECTED_ID) not in all_notes(out)
    assert not any(INJECTED in line for line in logs)
    assert report["rounds"] >= 1 and report["received"] == 0


def test_the_guest_gets_its_credentials_by_neither_command_line_nor_environment(
    settings: Settings, write_parser: WriteParser
) -> None:
    parser = write_parser("def parse(path):\n    return [{'a': 1}]\n")
    for encrypt in (False, True):
        with GuestProcess(settings.model_copy(update={"guest_encrypt_bridge": encrypt})) as guest:
            outcome, _ = run(guest, parser)
            gate = guest._gate
            assert outcome.ok and guest.pid is not None and gate is not None
            if encrypt:
                secrets = [gate._guest_secret, gate._server_secret]
            else:
                secrets = [gate._password.encode()]
            exposed = Path(f"/proc/{guest.pid}/cmdline").read_bytes()
            exposed += Path(f"/proc/{guest.pid}/environ").read_bytes()
            for secret in [gate.main_id, gate.heartbeat_id, *secrets]:
                assert secret not in exposed


def test_a_frame_from_another_routing_id_never_counts(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    # Behind the ZAP handler: should a foreign peer's frame ever reach the socket, the host
    # drops it unread, by its routing id.
    outcome, _ = run(guest, write_parser("def parse(path):\n    return [{'a': 1}]\n"))
    assert outcome.ok
    collected = Collected()
    frames = [b"intruder", *protocol.encode_control(protocol.DONE, protocol.Done(0))]
    assert guest._handle(frames, protocol.DONE, collected.on_data) is None
