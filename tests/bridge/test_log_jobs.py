"""Log lines know their job (protocol 2): jobs are sent ahead, so a line is attributed by the job
id it carries, not by when it arrives. Protocol 1 guests are still served, their lines of no job."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from casparian_core.bridge import host
from casparian_core.bridge.host import GuestProcess
from casparian_core.bridge.protocol import ErrorCode, Job
from casparian_core.config import Settings
from tests.bridge.conftest import Collected, WriteParser

# Says its input in every way a parser's lines reach the host: its logger (the sideband), print
# to stdout and stderr, a raw write to fd 1, a child process, and a line it leaves unfinished.
TALKATIVE = """
    import logging, os, sys
    def parse(path):
        logging.getLogger("p").info("log %s", path)
        print("print", path)
        print("stderr", path, file=sys.stderr)
        os.write(1, f"fd {path}\\n".encode())
        os.system(f"echo child {path}")
        sys.stdout.write(f"partial {path}")
        return [{"path": path}]
"""
SAID = ("p: log", "print", "stderr", "fd", "child", "partial")

# A guest of protocol 1, as the shim was before log lines named their job: its HELLO names no
# version and its log frames no job. Built from bytes, over the same real socket.
OLD_GUEST = """
    import json, os, struct, sys, zmq
    from casparian_core.bridge.guest import read_link, secure
    options = dict(a[2:].split("=", 1) for a in sys.argv[1:] if "=" in a)
    link = read_link(int(options["link-fd"]))  # connecting is the same in both versions
    socket = zmq.Context().socket(zmq.DEALER)
    secure(socket, link, link["main_id"])
    socket.connect(options["endpoint"])
    def send(signal, payload):
        socket.send_multipart([struct.pack(">I", signal), payload])
    hello = {"pid": os.getpid(), "python": sys.version}
    hello.update(HELLO_EXTRA)
    send(0xFFFFFFF0, json.dumps(hello).encode())  # HELLO
    while True:
        header, body = socket.recv_multipart()
        if struct.unpack(">I", header)[0] == 0xFFFFFFF4:  # SHUTDOWN
            break
        text = ("old line of " + json.loads(body)["input_path"]).encode()
        send(0xFFFFFFFE, struct.pack(">BI", 20, len(text)) + text)  # LOG_SIGNAL, protocol 1
        send(0xFFFFFFF2, json.dumps({"exit_code": 0, "data_messages": 0}).encode())  # DONE
    socket.close(linger=-1)
"""


def test_lines_of_jobs_sent_ahead_name_their_job(
    settings: Settings, write_parser: WriteParser
) -> None:
    parser = write_parser(TALKATIVE)
    collected = Collected()
    with GuestProcess(settings, on_log=collected.on_log) as process:
        process.start_job(Job("job-a", str(parser), "/in/a", "out", None))
        process.start_job(Job("job-b", str(parser), "/in/b", "out", None))
        assert process.finish_job(collected.on_data).ok
        assert process.finish_job(collected.on_data).ok
    # Closed: the guest's output has been read to its end.
    lines = {(job_id, text) for job_id, _, text in collected.logs}
    for job_id, path in (("job-a", "/in/a"), ("job-b", "/in/b")):
        assert {(job_id, f"{said} {path}") for said in SAID} <= lines
    attributed = {job_id for job_id, text in lines if text.endswith(("/in/a", "/in/b"))}
    assert attributed == {"job-a", "job-b"}


# Prints from a thread of its own, long after its job ended (and with no next job sent).
LATE = """
    import threading, time
    def later():
        time.sleep(1.0)
        print("late", flush=True)
    def parse(path):
        threading.Thread(target=later, daemon=True).start()
        return [{"path": path}]
"""
LATE_LINE_SECS = 30.0  # a guard against a hung test, not a speed claim


def test_a_line_printed_once_the_guest_waited_for_a_next_job_is_no_jobs(
    settings: Settings, write_parser: WriteParser
) -> None:
    # The guest marks a job's end only after a short wait for the next job (END_MARK_GRACE_MS):
    # it must still mark it, or this line would count as job-a's.
    parser = write_parser(LATE)
    collected = Collected()
    with GuestProcess(settings, on_log=collected.on_log) as process:
        process.start_job(Job("job-a", str(parser), "/in/a", "out", None))
        assert process.finish_job(collected.on_data).ok
        deadline = time.monotonic() + LATE_LINE_SECS
        while not any(text == "late" for _, _, text in collected.logs):
            assert time.monotonic() < deadline, collected.logs
            time.sleep(0.05)
    assert (None, 20, "late") in collected.logs


def old_guest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hello_extra: object) -> None:
    """Make GuestProcess start OLD_GUEST, its HELLO extended by `hello_extra`."""
    script = tmp_path / "old_guest.py"
    source = textwrap.dedent(OLD_GUEST).replace("HELLO_EXTRA", json.dumps(hello_extra))
    script.write_text(source)
    monkeypatch.setattr(host, "GUEST_SCRIPT", script)


def test_a_protocol_1_guest_is_served_its_lines_of_no_job(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_guest(tmp_path, monkeypatch, {})
    collected = Collected()
    with GuestProcess(settings, on_log=collected.on_log) as process:
        process.start_job(Job("job-a", "/p.py", "/in/a", "out", None))
        process.start_job(Job("job-b", "/p.py", "/in/b", "out", None))
        assert process.finish_job(collected.on_data).ok
        assert process.finish_job(collected.on_data).ok
    assert (None, 20, "old line of /in/a") in collected.logs
    assert (None, 20, "old line of /in/b") in collected.logs


def test_a_guest_of_a_newer_protocol_is_refused(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_guest(tmp_path, monkeypatch, {"protocol": 99})
    with GuestProcess(settings) as process:
        outcome = process.run_job(Job("job-a", "/p.py", "/in/a", "out", None), Collected().on_data)
    assert outcome.error_code == ErrorCode.PROTOCOL_ERROR
    assert "protocol 99" in (outcome.message or "")
