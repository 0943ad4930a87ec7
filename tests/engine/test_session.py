"""ParserSession: inputs submitted one at a time to one warm guest and one sink; results in
submission order; per-input job ids, log lines, cancels; the retry class of a failure."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pyarrow.parquet as pq

from casparian_core.config import Settings
from casparian_core.engine.results import InputItem, RunOptions, RunResult, RunStatus
from casparian_core.engine.run import run_parser
from casparian_core.engine.session import ParserSession
from casparian_core.errors import ErrorCode
from casparian_core.sinks import open_sink
from tests.bridge.conftest import WriteParser

PID_PARSER = """
    import logging, os
    def parse(path):
        logging.getLogger("p").info("parsing %s", os.path.basename(path))
        return [{"pid": os.getpid(), "text": open(path).read()}]
"""


def session_on(parser: Path, settings: Settings, out: Path, **options: object) -> ParserSession:
    return ParserSession(parser, settings, open_sink(f"parquet://{out}"), **options)  # type: ignore[arg-type]


def inputs(folder: Path, count: int) -> list[InputItem]:
    items = []
    for number in range(count):
        path = folder / f"in{number}.txt"
        path.write_text(f"text {number}")
        items.append(InputItem(path, path.name))
    return items


def test_inputs_submitted_over_time_share_one_guest_and_come_back_in_order(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    items = inputs(tmp_path, 4)
    seen: list[RunResult] = []
    with session_on(write_parser(PID_PARSER), fast_settings, tmp_path / "out") as session:
        for item in items:
            session.submit(item)
            seen.extend(session.results(wait=False))  # never waits: only final results
        seen.extend(session.results())
        assert list(session.results()) == []  # each result is yielded once
    assert [result.input_path for result in seen] == [item.path for item in items]
    assert [result.status for result in seen] == [RunStatus.COMPLETED] * 4
    table = pq.read_table(tmp_path / "out")
    assert sorted(table.column("text").to_pylist()) == [f"text {n}" for n in range(4)]
    assert len(set(table.column("pid").to_pylist())) == 1


def test_each_input_gets_its_job_id_and_its_own_log_lines(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    first, second = inputs(tmp_path, 2)
    logs: dict[str, list[str]] = {"first": [], "second": []}
    with session_on(write_parser(PID_PARSER), fast_settings, tmp_path / "out") as session:
        job = "a" * 32
        session.submit(
            InputItem(first.path, first.input_key, job, lambda _, text: logs["first"].append(text))
        )
        [one] = session.results()
        session.submit(
            InputItem(second.path, second.input_key, on_log=lambda _, t: logs["second"].append(t))
        )
        [two] = session.results()
    assert one.job_id == job
    assert two.job_id is not None and len(two.job_id) == 32 and two.job_id != job
    assert any("parsing in0.txt" in line for line in logs["first"])
    assert any("parsing in1.txt" in line for line in logs["second"])
    assert not any("in0.txt" in line for line in logs["second"])
    written = pq.read_table(tmp_path / "out").column("_cf_job_id").to_pylist()
    assert sorted(set(written)) == sorted([one.job_id, two.job_id])


def test_session_log_callback_takes_lines_no_input_claims(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    lines: list[tuple[str | None, int, str]] = []
    [item] = inputs(tmp_path, 1)
    parser = write_parser(PID_PARSER)

    def on_log(job_id: str | None, level: int, text: str) -> None:
        lines.append((job_id, level, text))

    with session_on(parser, fast_settings, tmp_path / "out", on_log=on_log) as session:
        session.submit(item)
        [result] = session.results()
    assert result.ok
    assert any(level == logging.INFO and "parsing in0.txt" in text for _, level, text in lines)


def test_a_cancelled_input_leaves_nothing_and_the_next_one_runs(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    parser = write_parser(
        """
        import logging, time
        def parse(path):
            if open(path).read() == "text 0":
                logging.getLogger("p").info("blocking")
                time.sleep(60)
            return [{"text": open(path).read()}]
        """
    )
    first, second = inputs(tmp_path, 2)
    cancel = threading.Event()

    def cancel_once_blocked(_level: int, text: str) -> None:
        if "blocking" in text:
            cancel.set()

    with session_on(parser, fast_settings, tmp_path / "out") as session:
        session.submit(InputItem(first.path, first.input_key, None, cancel_once_blocked, cancel))
        [cancelled] = session.results()
        session.submit(second)
        [done] = session.results()
    assert (cancelled.status, done.status) == (RunStatus.CANCELLED, RunStatus.COMPLETED)
    assert pq.read_table(tmp_path / "out").column("text").to_pylist() == ["text 1"]


def test_the_retry_class_comes_with_the_result(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    parser = write_parser(
        """
        import os
        def parse(path):
            kind = open(path).read()
            if kind == "crash":
                os._exit(9)
            if kind == "memory":
                raise MemoryError("no room")
            raise ValueError("bad line")
        """
    )
    items = []
    for kind in ("crash", "memory", "value"):
        (tmp_path / kind).write_text(kind)
        items.append(InputItem(tmp_path / kind, kind))
    with session_on(parser, fast_settings, tmp_path / "out") as session:
        for item in items:
            session.submit(item)
        results = list(session.results())
    assert [(r.error_code, r.transient) for r in results] == [
        (ErrorCode.CRASHED, True),
        (ErrorCode.MEMORY_ERROR, True),
        (ErrorCode.INVALID_DATA, False),
    ]


def test_an_unusable_parser_fails_each_input_without_a_guest(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    items = inputs(tmp_path, 2)
    with session_on(write_parser("x = 1\n"), fast_settings, tmp_path / "out") as session:
        for item in items:
            session.submit(item)
        results = list(session.results())
    assert [(r.status, r.error_code) for r in results] == [
        (RunStatus.FAILED, ErrorCode.PARSER_LOAD_ERROR)
    ] * 2
    assert not any(r.transient for r in results)


def test_the_engine_leaves_the_garbage_collector_alone(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    # gc.freeze is the CLI's choice for its short-lived process, not the engine's: a daemon
    # running sessions for days must keep collecting.
    import gc

    frozen_before = gc.get_freeze_count()  # another test in this process may have frozen some
    frozen_while_running: list[int] = []
    paths = [item.path for item in inputs(tmp_path, 3)]
    options = RunOptions(f"parquet://{tmp_path / 'out'}")
    results = run_parser(
        write_parser(PID_PARSER),
        paths,
        fast_settings,
        options,
        on_result=lambda _: frozen_while_running.append(gc.get_freeze_count()),
    )
    assert all(result.ok for result in results)
    assert frozen_while_running == [frozen_before] * 3 and gc.isenabled()
    assert gc.get_freeze_count() == frozen_before


def test_a_file_changed_while_parsed_fails_transiently_and_writes_nothing(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    # The parser reads the file, says so, and returns once the file has grown: the test
    # appends a line when it hears it (the host would otherwise record the old hash).
    parser = write_parser(
        """
        import logging, os, time
        def parse(path):
            text = open(path).read()
            if text.endswith("more"):
                return [{"text": text}]
            logging.getLogger("p").info("read")
            for _ in range(2000):  # bounded: 20 s at most
                if os.stat(path).st_size > len(text):
                    break
                time.sleep(0.01)
            return [{"text": text}]
        """
    )
    [item] = inputs(tmp_path, 1)

    def append_when_read(_level: int, text: str) -> None:
        if "read" in text:
            with item.path.open("a") as appending:
                appending.write(" and more")

    with session_on(parser, fast_settings, tmp_path / "out") as session:
        session.submit(InputItem(item.path, item.input_key, on_log=append_when_read))
        [changed] = session.results()
        session.submit(item)  # its next run reads the file as it is now
        [again] = session.results()
    assert (changed.status, changed.error_code) == (RunStatus.FAILED, ErrorCode.INPUT_CHANGED)
    assert changed.transient and changed.rows == 0
    assert again.status == RunStatus.COMPLETED
    assert pq.read_table(tmp_path / "out").column("text").to_pylist() == ["text 0 and more"]


def test_log_lines_of_jobs_sent_ahead_reach_their_own_input(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    # Every job after the first is sent while the one before is received: its lines arrive
    # interleaved with that one's, and the job id on each line routes it.
    items = inputs(tmp_path, 6)
    heard: dict[str, list[str]] = {item.input_key: [] for item in items}
    unrouted: list[tuple[str | None, str]] = []

    def on_log(job_id: str | None, _level: int, text: str) -> None:
        unrouted.append((job_id, text))

    parser = write_parser(PID_PARSER)
    with session_on(parser, fast_settings, tmp_path / "out", on_log=on_log) as session:
        for item in items:
            lines = heard[item.input_key]
            session.submit(
                InputItem(
                    item.path,
                    item.input_key,
                    on_log=lambda _, text, lines=lines: lines.append(text),
                )
            )
        assert all(result.ok for result in session.results())
    for key, lines in heard.items():
        assert [line for line in lines if "parsing" in line] == [f"p: parsing {key}"], key
    assert not any("parsing" in text for _, text in unrouted)
