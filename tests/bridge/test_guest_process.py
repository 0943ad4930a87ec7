"""The bridge end to end: a real guest subprocess, real ZeroMQ sockets, real misbehaving parsers."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from casparian_core.bridge import protocol
from casparian_core.bridge.host import GuestProcess, guest_environment
from casparian_core.bridge.protocol import ErrorCode, ExitClass, Job
from casparian_core.config import Settings
from tests.bridge.conftest import Collected, WriteParser, run, wait_for


def test_a_warm_guest_serves_several_jobs(
    warm_guest: GuestProcess, write_parser: WriteParser
) -> None:
    parser = write_parser(
        """
        import os
        def parse(path):
            return [{"pid": os.getpid(), "path": path}]
        """
    )
    pids = set()
    served = warm_guest.jobs_served
    for number in range(3):
        outcome, collected = run(warm_guest, parser, f"/input/{number}")
        assert outcome.ok and outcome.exit_code == ExitClass.SUCCESS
        [row] = collected.rows("out")
        assert row["path"] == f"/input/{number}"
        pids.add(row["pid"])
    assert pids == {warm_guest.pid}
    assert warm_guest.jobs_served == served + 3


def test_a_launched_guest_serves_the_first_job(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    guest.launch()
    launched = guest.pid
    guest.launch()  # already running: no second process
    assert launched is not None and guest.pid == launched
    parser = write_parser(
        """
        import os
        def parse(path):
            return [{"pid": os.getpid()}]
        """
    )
    outcome, collected = run(guest, parser)
    assert outcome.ok
    assert collected.rows("out") == [{"pid": launched}]


def test_a_launched_guest_without_a_job_is_shut_down(guest: GuestProcess) -> None:
    guest.launch()
    launched = guest.pid
    assert launched is not None
    guest.close()
    assert guest.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(launched, 0)  # exited and reaped


def test_chunks_stream_in_order(warm_guest: GuestProcess, write_parser: WriteParser) -> None:
    parser = write_parser(
        """
        import pyarrow as pa
        def parse(path):
            for start in range(0, 50, 10):
                yield pa.table({"n": list(range(start, start + 10))})
        """
    )
    outcome, collected = run(warm_guest, parser)
    assert outcome.ok
    assert [row["n"] for row in collected.rows("out")] == list(range(50))
    assert len(collected.tables["out"]) == 5


def test_level_2_parser_gets_ctx_and_yields_named_outputs(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    parser = write_parser(
        """
        class Parser:
            name = "two"
            def parse(self, ctx):
                ctx.logger.info("parsing %s", ctx.path)
                yield "first", [{"job": ctx.job_id, "path": ctx.path}]
                yield "second", [{"x": 1}]
        """
    )
    collected = Collected()
    guest_with_log = GuestProcess(guest._settings, on_log=collected.on_log)
    with guest_with_log:
        outcome, _ = run(
            guest_with_log, parser, "/in.txt", class_name="Parser", collected=collected
        )
    assert outcome.ok
    assert collected.rows("first") == [{"job": "job-1", "path": "/in.txt"}]
    assert collected.rows("second") == [{"x": 1}]
    assert ("job-1", 20, "parser.out: parsing /in.txt") in collected.logs


@pytest.mark.parametrize(
    ("statement", "code", "exit_class"),
    [
        ("raise KeyError('amt')", ErrorCode.SCHEMA_MISMATCH, ExitClass.PERMANENT),
        ("open('/no/such/file')", ErrorCode.FILE_NOT_FOUND, ExitClass.PERMANENT),
        ("raise PermissionError('denied')", ErrorCode.PERMISSION_ERROR, ExitClass.PERMANENT),
        ("b'\\xff\\xfe'.decode('utf-8')", ErrorCode.ENCODING_ERROR, ExitClass.PERMANENT),
        ("raise MemoryError()", ErrorCode.MEMORY_ERROR, ExitClass.TRANSIENT),
        ("int('twelve')", ErrorCode.INVALID_DATA, ExitClass.PERMANENT),
        ("raise RuntimeError('boom')", ErrorCode.UNKNOWN_ERROR, ExitClass.PERMANENT),
        ("return 42", ErrorCode.UNSUPPORTED_TYPE, ExitClass.PERMANENT),
    ],
)
def test_exceptions_map_to_error_codes_and_exit_classes(
    warm_guest: GuestProcess, write_parser: WriteParser, statement: str, code: str, exit_class: int
) -> None:
    parser = write_parser(f"def parse(path):\n    {statement}\n")
    served = warm_guest.jobs_served
    outcome, _ = run(warm_guest, parser)
    assert (outcome.error_code, outcome.exit_code) == (code, exit_class)
    if code != ErrorCode.UNSUPPORTED_TYPE:  # found by the shim, not raised by the parser
        assert outcome.traceback is not None and f"{parser}" in outcome.traceback
        assert "guest.py" not in outcome.traceback  # only the parser's own frames
    # The guest survived its parser's exception and takes the next job.
    ok, _ = run(warm_guest, write_parser("def parse(path):\n    return [{'a': 1}]\n"))
    assert ok.ok and warm_guest.jobs_served == served + 2


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_jobs_last_data_message_carries_its_done(
    warm_guest: GuestProcess,
    write_parser: WriteParser,
    monkeypatch: pytest.MonkeyPatch,
    chunks: int,
) -> None:
    parser = write_parser(
        f"""
        import pyarrow as pa
        def parse(path):
            for n in range({chunks}):
                yield pa.table({{"n": [n]}})
        """
    )
    received: list[protocol.Message] = []
    real_decode = protocol.decode

    def recorded(frames: list[object]) -> protocol.Message:
        received.append(real_decode(frames))
        return received[-1]

    monkeypatch.setattr(protocol, "decode", recorded)
    outcome, collected = run(warm_guest, parser)

    assert outcome.ok
    assert [row["n"] for row in collected.rows("out")] == list(range(chunks))
    job_messages = [m for m in received if m != protocol.ControlMessage(protocol.HEARTBEAT, {})]
    # One message per chunk, the last with the DONE: no message of its own for the DONE.
    assert [isinstance(m, protocol.DataMessage) for m in job_messages] == [True] * chunks
    assert [m.done is not None for m in job_messages if isinstance(m, protocol.DataMessage)] == [
        False
    ] * (chunks - 1) + [True]


def test_inconsistent_chunk_schemas(warm_guest: GuestProcess, write_parser: WriteParser) -> None:
    parser = write_parser(
        """
        def parse(path):
            yield [{"a": 1, "b": "x"}]
            yield [{"a": 1, "c": "y"}]
        """
    )
    outcome, collected = run(warm_guest, parser)
    assert outcome.error_code == ErrorCode.INCONSISTENT_SCHEMA
    assert "a int64, c string" in (outcome.message or "")
    assert len(collected.tables["out"]) == 1


def test_all_null_chunk_is_compatible_with_typed_chunks(
    warm_guest: GuestProcess, write_parser: WriteParser
) -> None:
    parser = write_parser(
        """
        def parse(path):
            yield [{"a": 1}]
            yield [{"a": None}]
        """
    )
    outcome, collected = run(warm_guest, parser)
    assert outcome.ok
    assert collected.rows("out") == [{"a": 1}, {"a": None}]


def test_parser_that_fails_to_import(warm_guest: GuestProcess, write_parser: WriteParser) -> None:
    outcome, _ = run(warm_guest, write_parser("import no_such_module_here\n"))
    assert outcome.error_code == ErrorCode.PARSER_LOAD_ERROR
    assert "no_such_module_here" in (outcome.message or "")


def test_parser_without_parse(warm_guest: GuestProcess, write_parser: WriteParser) -> None:
    outcome, _ = run(warm_guest, write_parser("x = 1\n"))
    assert outcome.error_code == ErrorCode.PARSER_LOAD_ERROR
    assert "has no function parse(path)" in (outcome.message or "")


def test_an_edited_parser_is_reloaded_by_a_warm_guest(
    warm_guest: GuestProcess, write_parser: WriteParser
) -> None:
    parser = write_parser("def parse(path):\n    return [{'v': 1}]\n")
    assert run(warm_guest, parser)[1].rows("out") == [{"v": 1}]
    parser.write_text("def parse(path):\n    return [{'v': 2, 'w': 3}]\n")
    os.utime(parser, ns=(1, 1))  # a distinct mtime even within the clock's resolution
    assert run(warm_guest, parser)[1].rows("out") == [{"v": 2, "w": 3}]


def test_segfault_is_crashed_and_the_host_carries_on(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    outcome, _ = run(
        guest, write_parser("import ctypes\ndef parse(path):\n    ctypes.string_at(0)\n")
    )
    assert outcome.error_code == ErrorCode.CRASHED
    assert "SIGSEGV" in (outcome.message or "")
    assert "Fatal Python error" in (outcome.traceback or "")  # faulthandler's report on stderr
    again, collected = run(guest, write_parser("def parse(path):\n    return [{'a': 1}]\n"))
    assert again.ok and collected.rows("out") == [{"a": 1}]


def test_os_exit_is_crashed(guest: GuestProcess, write_parser: WriteParser) -> None:
    outcome, _ = run(guest, write_parser("import os\ndef parse(path):\n    os._exit(3)\n"))
    assert outcome.error_code == ErrorCode.CRASHED
    assert "exited with code 3" in (outcome.message or "")


def test_frozen_guest_stops_heartbeating_and_times_out(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    parser = write_parser(
        "import os, signal\ndef parse(path):\n    os.kill(os.getpid(), signal.SIGSTOP)\n"
    )
    outcome, _ = run(guest, parser)
    assert outcome.error_code == ErrorCode.TIMEOUT
    assert "no heartbeat" in (outcome.message or "")
    assert guest.pid is None  # killed, even though it was stopped


def test_busy_loop_hits_the_cpu_limit(fast_settings: Settings, write_parser: WriteParser) -> None:
    # A looping parser keeps heartbeating (another thread): RLIMIT_CPU is what ends it.
    settings = fast_settings.model_copy(update={"guest_max_cpu_secs": 1})
    with GuestProcess(settings) as process:
        outcome, _ = run(process, write_parser("def parse(path):\n    while True:\n        pass\n"))
    assert outcome.error_code == ErrorCode.TIMEOUT
    assert "SIGXCPU" in (outcome.message or "")


def test_unbounded_allocation_hits_the_memory_limit(
    fast_settings: Settings, write_parser: WriteParser
) -> None:
    settings = fast_settings.model_copy(update={"guest_max_memory_mb": 1024})
    parser = write_parser(
        """
        def parse(path):
            hoard = []
            while True:
                hoard.append(bytearray(10_000_000))
        """
    )
    with GuestProcess(settings) as process:
        outcome, _ = run(process, parser)
    assert (outcome.error_code, outcome.exit_code) == (ErrorCode.MEMORY_ERROR, ExitClass.TRANSIENT)


def test_oom_risk_when_a_result_is_too_big_to_convert(
    fast_settings: Settings, write_parser: WriteParser
) -> None:
    settings = fast_settings.model_copy(update={"guest_max_memory_mb": 1024})
    parser = write_parser(
        """
        import pyarrow.compute as pc
        import pyarrow as pa
        def parse(path):
            return pa.table({"x": pc.random(40_000_000)})  # 320 MB in one piece
        """
    )
    with GuestProcess(settings) as process:
        outcome, _ = run(process, parser)
    assert outcome.error_code == ErrorCode.OOM_RISK
    assert "yield the data in smaller chunks" in (outcome.message or "")


def test_print_goes_to_the_log_not_the_data_channel(
    fast_settings: Settings, write_parser: WriteParser
) -> None:
    collected = Collected()
    parser = write_parser("def parse(path):\n    print('debug me')\n    return [{'a': 1}]\n")
    with GuestProcess(fast_settings, on_log=collected.on_log) as process:
        outcome, _ = run(process, parser, collected=collected)
    assert outcome.ok
    assert collected.rows("out") == [{"a": 1}]
    assert ("job-1", 20, "debug me") in collected.logs


def test_guest_environment_is_minimal(
    guest: GuestProcess, write_parser: WriteParser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    monkeypatch.setenv("CASPARIAN_HOME", "/secret/home")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    parser = write_parser(
        "import os\ndef parse(path):\n    return [{'k': k} for k in os.environ]\n"
    )
    outcome, collected = run(guest, parser)
    assert outcome.ok
    names = {row["k"] for row in collected.rows("out")}
    assert not names & {"ANTHROPIC_API_KEY", "CASPARIAN_HOME", "AWS_SECRET_ACCESS_KEY"}
    assert "PATH" in names


def test_a_guest_gets_one_blas_thread_unless_the_host_asks_for_more() -> None:
    # OpenBLAS's threads spin at start-up (~50 ms of CPU a process): one worker, one guest,
    # one core; a user who wants more for a parser's linear algebra sets the variable.
    assert guest_environment({"PATH": "/bin"})["OPENBLAS_NUM_THREADS"] == "1"
    chosen = guest_environment({"PATH": "/bin", "OPENBLAS_NUM_THREADS": "4"})
    assert chosen["OPENBLAS_NUM_THREADS"] == "4"


def test_guest_runs_in_its_own_process_group(
    warm_guest: GuestProcess, write_parser: WriteParser
) -> None:
    parser = write_parser("import os\ndef parse(path):\n    return [{'pgid': os.getpgid(0)}]\n")
    _, collected = run(warm_guest, parser)
    assert collected.rows("out") == [{"pgid": warm_guest.pid}]
    assert warm_guest.pid != os.getpgid(0)


def test_garbage_frames_are_a_protocol_error_and_the_host_carries_on(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    # The parser finds the guest's own connection to the host and sends junk through it.
    parser = write_parser(
        """
        import gc, time
        def parse(path):
            [guest] = [o for o in gc.get_objects() if type(o).__name__ == "Guest"]
            guest.send([b"junk", b"more junk"])
            time.sleep(30)
        """
    )
    outcome, _ = run(guest, parser)
    assert outcome.error_code == ErrorCode.PROTOCOL_ERROR
    again, collected = run(guest, write_parser("def parse(path):\n    return [{'a': 1}]\n"))
    assert again.ok and collected.rows("out") == [{"a": 1}]


def test_cancel_kills_the_guest(guest: GuestProcess, write_parser: WriteParser) -> None:
    cancel = threading.Event()
    parser = write_parser("import time\ndef parse(path):\n    time.sleep(60)\n")
    threading.Timer(0.3, cancel.set).start()
    outcome = guest.run_job(
        Job("j", str(parser), "/dev/null", "out", None), Collected().on_data, cancel
    )
    assert outcome.error_code == ErrorCode.CANCELLED
    assert guest.pid is None


def test_backpressure_bounds_how_far_the_guest_runs_ahead(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    parser = write_parser(
        """
        import os
        import pyarrow as pa
        def parse(path):
            for number in range(200):
                # Its private folder: the only one a guest may write.
                with open(os.path.join(os.environ["TMPDIR"], "produced"), "w") as handle:
                    handle.write(str(number))
                yield pa.table({"blob": [b"x" * 1_000_000], "n": [number]})
        """
    )
    lags = []

    def slow_consumer(output: str, table: object) -> None:
        consumed = table.column("n")[0].as_py()  # type: ignore[attr-defined]
        if consumed in (0, 100):
            threading.Event().wait(0.5)  # give the producer every chance to run ahead
            assert guest.private_dir is not None
            progress = Path(guest.private_dir, "produced")
            lags.append(int(progress.read_text()) - consumed)

    outcome = guest.run_job(Job("j", str(parser), "/dev/null", "out", None), slow_consumer)
    assert outcome.ok
    # Without backpressure the producer would be ~199 chunks ahead; the high-water marks
    # (4 + 4 messages) and the kernel's socket buffers hold only a few dozen 1 MB chunks (41
    # was seen once on a machine at load 8: the buffers' size is the kernel's, not ours).
    assert len(lags) == 2 and max(lags) < 100


def _job(parser: Path, input_path: str) -> Job:
    return Job(f"job-{input_path}", str(parser), input_path, "out", None)


def test_jobs_started_ahead_are_served_in_order(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    # Each job leaves a file named after its input in the guest's private folder as it begins:
    # the second must begin before the host asks for its result.
    parser = write_parser(
        """
        import os
        def parse(path):
            open(os.path.join(os.environ["TMPDIR"], os.path.basename(path)), "w").close()
            return [{"path": path}]
        """
    )
    guest.start_job(_job(parser, "/input/a"))
    guest.start_job(_job(parser, "/input/b"))
    first, second = Collected(), Collected()
    assert guest.finish_job(first.on_data).ok
    assert guest.private_dir is not None
    wait_for(Path(guest.private_dir, "b"))  # the guest began "b" without being asked
    assert guest.finish_job(second.on_data).ok
    assert [row["path"] for row in first.rows("out")] == ["/input/a"]
    assert [row["path"] for row in second.rows("out")] == ["/input/b"]
    assert guest.jobs_served == 2


def test_a_crash_fails_only_its_job_and_the_job_sent_after_it_is_resent(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    crashing = write_parser("import os\ndef parse(path):\n    os._exit(3)\n")
    fine = write_parser("import os\ndef parse(path):\n    return [{'pid': os.getpid()}]\n")
    guest.start_job(_job(crashing, "/input/a"))
    crashed_pid = guest.pid
    guest.start_job(_job(fine, "/input/b"))  # sent to the guest that is about to die
    first, second = Collected(), Collected()
    assert guest.finish_job(first.on_data).error_code == ErrorCode.CRASHED
    outcome = guest.finish_job(second.on_data)
    assert outcome.ok
    [row] = second.rows("out")
    assert row["pid"] == guest.pid != crashed_pid


def test_a_host_side_failure_drops_its_job_and_the_next_one_still_runs(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    parser = write_parser("def parse(path):\n    return [{'path': path}]\n")
    guest.start_job(_job(parser, "/input/a"))
    guest.start_job(_job(parser, "/input/b"))

    def refuse(output: str, table: object) -> None:
        raise RuntimeError("the sink is full")

    with pytest.raises(RuntimeError, match="the sink is full"):
        guest.finish_job(refuse)  # kills the guest that holds both jobs
    collected = Collected()
    assert guest.finish_job(collected.on_data).ok
    assert collected.rows("out") == [{"path": "/input/b"}]


def test_jobs_left_unfinished_are_not_sent_to_a_later_guest(
    guest: GuestProcess, write_parser: WriteParser
) -> None:
    parser = write_parser("def parse(path):\n    return [{'path': path}]\n")
    with pytest.raises(KeyboardInterrupt), guest:
        guest.start_job(_job(parser, "/input/a"))
        guest.start_job(_job(parser, "/input/b"))
        raise KeyboardInterrupt  # a cancelled run leaves both jobs unfinished
    outcome, collected = run(guest, parser, "/input/c")
    assert outcome.ok and collected.rows("out") == [{"path": "/input/c"}]


def test_a_crash_of_a_guest_holding_two_jobs_is_retried_alone_to_tell_which_one_crashed(
    guest: GuestProcess, write_parser: WriteParser, tmp_path: Path
) -> None:
    # The guest dies with "a" and "b" sent: its last messages may be lost, so either job may
    # have crashed it. "a" runs again alone, crashes alone, and is the one reported. "a" waits
    # for `release`, made once "b" is sent: a guest that died first would hold "a" alone.
    release = tmp_path / "release"
    parser = write_parser(
        f"""
        import os, time
        def parse(path):
            if path == "/input/a":
                while not os.path.exists({str(release)!r}):
                    time.sleep(0.005)
                os._exit(3)
            return [{{"path": path}}]
        """
    )
    guest.start_job(_job(parser, "/input/a"))
    guest.start_job(_job(parser, "/input/b"))
    release.touch()
    retries = []
    first, second = Collected(), Collected()
    outcome = guest.finish_job(first.on_data, on_retry=lambda: retries.append("a"))
    assert outcome.error_code == ErrorCode.CRASHED and retries == ["a"]
    assert guest.finish_job(second.on_data, on_retry=lambda: retries.append("b")).ok
    assert second.rows("out") == [{"path": "/input/b"}] and retries == ["a"]
