"""Parquet parts write full row groups in a thread of their own: its errors reach the engine
typed, an abort stops it and publishes nothing, and the engine never runs far ahead of it.
Row groups are made small (ROW_GROUP_ROWS) so each test writes a few thousand rows."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.sinks import parquet_part

from .conftest import INFO, make_case, numbers
from .test_failures import assert_only_the_old_part_is_there, commit_old_part, run_child

SCHEMA = numbers(0, 0).schema
ROWS = 1_000
THREAD_NAME = "casparian-row-groups"

# In the child: row groups of ROWS rows, then writes past 1 KiB fail with EFBIG (as on a full
# disk), so the first row group the thread writes fails.
LIMITED_CHILD = """
    from casparian_core.sinks import parquet_part
    parquet_part.ROW_GROUP_ROWS = {rows}
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
    at = None
    try:
        for number in range({row_groups}):
            at = number
            writer.write(numbers(number * {rows}, (number + 1) * {rows}, "new"))
        at = "commit"
        writer.commit()
    except SinkError as error:
        print(json.dumps({{"at": at, "error": str(error)}}))
    else:
        print(json.dumps({{"at": None, "error": None}}))
    """


def run_limited_child(tmp_path: Path, row_groups: int) -> dict[str, object]:
    """Commit an old part, then write `row_groups` row groups over it in a limited child."""
    case = make_case("parquet", tmp_path)
    commit_old_part(case)
    script = LIMITED_CHILD.format(rows=ROWS, row_groups=row_groups)
    child = run_child(script, case.uri, tmp_path)
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout)


def test_a_failed_background_write_is_raised_by_a_later_write(tmp_path: Path) -> None:
    # The thread fails on row group 0; at most one more waits in the queue, so the engine
    # learns of the error by its fourth write at the latest, long before the commit.
    outcome = run_limited_child(tmp_path, row_groups=8)

    assert outcome["at"] in (1, 2, 3)
    error = str(outcome["error"])
    assert error.startswith(f"parquet://{tmp_path / 'out'}")
    assert "disk is full or a file size limit" in error and "--sink" in error
    assert_only_the_old_part_is_there("parquet", tmp_path)


def test_a_failed_background_write_is_raised_at_commit(tmp_path: Path) -> None:
    # One full row group: no later write checks for the error, so the commit raises it.
    outcome = run_limited_child(tmp_path, row_groups=1)

    assert outcome["at"] == "commit"
    assert "disk is full or a file size limit" in str(outcome["error"])
    assert_only_the_old_part_is_there("parquet", tmp_path)


class _GatedWriter(pq.ParquetWriter):
    """A real ParquetWriter whose row group writes wait for the test to let them through."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.started = threading.Event()
        self.release = threading.Event()
        self.written: list[int] = []

    def write_table(self, table: pa.Table, row_group_size: int | None = None) -> None:
        self.started.set()
        self.release.wait()
        super().write_table(table, row_group_size)
        self.written.append(table.column("n")[0].as_py())


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> list[_GatedWriter]:
    monkeypatch.setattr(parquet_part, "ROW_GROUP_ROWS", ROWS)
    writers: list[_GatedWriter] = []

    def open_gated(where: Path | pa.NativeFile, schema: pa.Schema, _: pa.Table) -> pq.ParquetWriter:
        if isinstance(where, pa.NativeFile):  # a small part, encoded in memory: not gated
            return pq.ParquetWriter(where, schema, compression="zstd")
        writers.append(_GatedWriter(where, schema, compression="zstd"))
        return writers[-1]

    monkeypatch.setattr(parquet_part, "_parquet_writer", open_gated)
    return writers


def row_group_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


def test_abort_while_a_row_group_is_written_publishes_nothing(
    tmp_path: Path, gated: list[_GatedWriter]
) -> None:
    case = make_case("parquet", tmp_path)
    commit_old_part(case)
    writer = case.sink.begin("sales", "in1-v1", SCHEMA, INFO)
    writer.write(numbers(0, ROWS, "new"))  # handed to the thread
    writer.write(numbers(ROWS, 2 * ROWS, "new"))  # waits in the queue
    [file_writer] = gated
    file_writer.started.wait()

    file_writer.release.set()  # the write in flight goes on while abort waits for it
    writer.abort()

    assert file_writer.written == [0]  # the queued row group was dropped, not written
    assert row_group_threads() == []
    assert_only_the_old_part_is_there("parquet", tmp_path)


def test_the_engine_waits_while_one_row_group_waits_for_the_thread(
    tmp_path: Path, gated: list[_GatedWriter]
) -> None:
    case = make_case("parquet", tmp_path)
    writer = case.sink.begin("sales", "in1-v1", SCHEMA, INFO)
    writer.write(numbers(0, ROWS))  # being written (held by the gate)
    gated[0].started.wait()
    writer.write(numbers(ROWS, 2 * ROWS))  # waits in the queue
    third = threading.Thread(target=writer.write, args=(numbers(2 * ROWS, 3 * ROWS),))
    third.start()

    third.join(0.3)
    blocked = third.is_alive()  # memory bound: no third row group in flight
    gated[0].release.set()
    third.join()
    writer.commit()

    assert blocked
    assert gated[0].written == [0, ROWS, 2 * ROWS]
    metadata = pq.read_metadata(tmp_path / "out" / "sales" / "part-in1-v1.parquet")
    assert (metadata.num_rows, metadata.num_row_groups) == (3 * ROWS, 3)
    assert [row["n"] for row in case.read("sales")] == list(range(3 * ROWS))
    assert row_group_threads() == []
