"""Sinks under failure: a full disk, a crash mid-part, an unwritable place. Each leaves the old
part whole and no half-written output. Limits and crashes run in a subprocess, so the test
runner itself is never limited or killed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from casparian_core.sinks import SinkError, open_sink

from .conftest import INFO, SINK_KINDS, SinkCase, make_case, numbers

SCHEMA = numbers(0, 0).schema
FOLDER_KINDS = ("parquet", "arrow")
OUTPUTS = ("sales", "sales_quarantine")

CHILD_PRELUDE = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    import pyarrow as pa
    from pathlib import Path
    from casparian_core.sinks import PartInfo, SinkError, open_sink

    INFO = PartInfo("in1.csv", "hash", "1")

    def numbers(start, stop, tag):
        return pa.table({"n": pa.array(range(start, stop), pa.int64()),
                         "tag": pa.array([tag] * (stop - start), pa.string())})

    sink = open_sink(sys.argv[1])
    writer_schema = numbers(0, 0, "").schema
    writer = sink.begin("sales", "in1-v1", writer_schema, INFO)
    """
)


def run_child(script: str, uri: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(script), uri],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def read_part(path: Path) -> list[dict[str, object]]:
    table = pq.read_table(path) if path.suffix == ".parquet" else ipc.open_file(path).read_all()
    return table.to_pylist()


def commit_old_part(case: SinkCase) -> None:
    writer = case.sink.begin("sales", "in1-v1", SCHEMA, INFO)
    writer.write(numbers(0, 3, "old"))
    writer.commit()
    case.sink.close()  # a DuckDB file takes one writing process at a time


def assert_only_the_old_part_is_there(kind: str, tmp_path: Path) -> None:
    reopened = make_case(kind, tmp_path)  # opening a folder sink sweeps dead staging
    assert [row["tag"] for row in reopened.read("sales")] == ["old"] * 3
    assert reopened.leftovers() == []


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_a_full_disk_raises_sink_error_and_keeps_the_old_part(kind: str, tmp_path: Path) -> None:
    case = make_case(kind, tmp_path)
    commit_old_part(case)

    # Writes past 256 KiB fail with EFBIG (SIGXFSZ ignored), as on a full disk.
    child = run_child(
        """
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
        try:
            for start in range(0, 2_000_000, 200_000):
                writer.write(numbers(start, start + 200_000, "new"))
            writer.commit()
        except SinkError as error:
            print(json.dumps({"error": str(error)}))
        else:
            print(json.dumps({"error": None}))
        """,
        case.uri,
        tmp_path,
    )

    assert child.returncode == 0, child.stderr
    error = json.loads(child.stdout)["error"]
    assert error is not None and error.startswith(case.uri)
    assert "--sink" in error
    assert_only_the_old_part_is_there(kind, tmp_path)


@pytest.mark.parametrize("kind", FOLDER_KINDS)
def test_a_full_disk_while_committing_a_small_part_fails_it_and_keeps_the_old_part(
    kind: str, tmp_path: Path
) -> None:
    case = make_case(kind, tmp_path)
    commit_old_part(case)

    # A small Parquet part is written by the commit thread: its error arrives through the
    # future. An Arrow file is written as it goes: its error comes from commit_together.
    child = run_child(
        """
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        writer.write(numbers(0, 500, "new"))
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))
        try:
            sink.commit_together([writer]).result()
        except SinkError as error:
            print(json.dumps({"error": str(error)}))
        else:
            print(json.dumps({"error": None}))
        sink.close()
        """,
        case.uri,
        tmp_path,
    )

    assert child.returncode == 0, child.stderr
    error = json.loads(child.stdout)["error"]
    assert error is not None and error.startswith(case.uri)
    assert_only_the_old_part_is_there(kind, tmp_path)


@pytest.mark.parametrize("kind", FOLDER_KINDS)
def test_an_input_that_cannot_be_published_fails_alone(kind: str, tmp_path: Path) -> None:
    case = make_case(kind, tmp_path)
    case.sink.part_path("sales", "in1-v1").joinpath("taken").mkdir(parents=True)

    pending = []
    for number in range(3):
        parts = [case.sink.begin(output, f"in{number}-v1", SCHEMA, INFO) for output in OUTPUTS]
        for part in parts:
            part.write(numbers(number, number + 1))
        pending.append(case.sink.commit_together(parts))
    case.sink.close()

    assert pending[0].result() is None and pending[2].result() is None
    with pytest.raises(SinkError, match="could not write"):
        pending[1].result()
    for output in OUTPUTS:  # the failed input's other part is not published either
        parts = sorted((tmp_path / "out" / output).glob("part-*"))
        assert [row["n"] for part in parts if part.is_file() for row in read_part(part)] == [0, 2]
    assert case.leftovers() == []


@pytest.mark.parametrize("kind", FOLDER_KINDS)
def test_a_crash_while_commits_finish_leaves_each_part_old_or_new(
    kind: str, tmp_path: Path
) -> None:
    case = make_case(kind, tmp_path)
    for number in range(5):
        for output in OUTPUTS:
            writer = case.sink.begin(output, f"in{number}-v1", SCHEMA, INFO)
            writer.write(numbers(0, 3, "old"))
            writer.commit()
    case.sink.close()

    # The process dies right after handing five inputs' parts to the background commit.
    child = run_child(
        """
        writer.abort()
        for number in range(5):
            parts = [sink.begin(output, f"in{number}-v1", writer_schema, INFO)
                     for output in ("sales", "sales_quarantine")]
            for part in parts:
                part.write(numbers(0, 5, "new"))
            sink.commit_together(parts)
        os._exit(9)
        """,
        case.uri,
        tmp_path,
    )

    assert child.returncode == 9, child.stderr
    reopened = make_case(kind, tmp_path)  # sweeps the dead process's staging files
    for output in OUTPUTS:
        for part in sorted((tmp_path / "out" / output).glob("part-*")):
            tags = [row["tag"] for row in read_part(part)]
            assert tags in (["old"] * 3, ["new"] * 5), part
    assert reopened.leftovers() == []


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_a_crash_between_writes_leaves_the_old_part(kind: str, tmp_path: Path) -> None:
    case = make_case(kind, tmp_path)
    commit_old_part(case)

    child = run_child(
        """
        writer.write(numbers(0, 1000, "new"))
        os._exit(9)
        """,
        case.uri,
        tmp_path,
    )

    assert child.returncode == 9, child.stderr
    assert_only_the_old_part_is_there(kind, tmp_path)


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_a_location_under_a_regular_file_is_refused_with_a_clear_message(
    kind: str, tmp_path: Path
) -> None:
    # Tests run as root, where chmod does not stop writes; a path through a file stops anyone.
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    uri = f"{kind}://{blocker}/sub" if kind in ("parquet", "arrow") else f"{kind}:///{blocker}/x.db"
    sink = open_sink(uri)

    with pytest.raises(SinkError) as caught:
        sink.begin("sales", "k", SCHEMA, INFO)

    assert str(caught.value).startswith(sink.uri)
    assert "choose another --sink" in str(caught.value) or "writable --sink" in str(caught.value)
    assert blocker.read_text() == "not a folder"


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("plain text, not SQLite " * 100)

    with pytest.raises(SinkError, match="not an SQLite database"):
        open_sink(f"sqlite:///{path}").begin("sales", "k", SCHEMA, INFO)


def test_inputs_synced_together_fail_alone_on_a_full_disk(tmp_path: Path) -> None:
    # The commit thread writes and fsyncs a pass's small parts on several threads at once: the
    # input that hits the file size limit fails, with nothing of it published, and the inputs
    # synced beside it are published whole.
    case = make_case("parquet", tmp_path)
    child = run_child(
        """
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        pending = []
        for number in range(8):
            rows = 20_000 if number == 5 else 1  # only input 5 outgrows the limit
            parts = [
                sink.begin(output, f"in{number}-v1", writer_schema, INFO)
                for output in ("sales", "sales_quarantine")
            ]
            for part in parts:
                part.write(numbers(number, number + rows, "x" * 50))
            pending.append(sink.commit_together(parts))
        failed = []
        for number, done in enumerate(pending):
            try:
                done.result()
            except SinkError:
                failed.append(number)
        sink.close()
        print(json.dumps({"failed": failed}))
        """,
        case.uri,
        tmp_path,
    )

    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout)["failed"] == [5]
    for output in OUTPUTS:
        parts = sorted((tmp_path / "out" / output).glob("part-*"))
        assert sorted(row["n"] for part in parts for row in read_part(part)) == [
            0,
            1,
            2,
            3,
            4,
            6,
            7,
        ]
    assert case.leftovers() == []
