"""Sinks under failure: a full disk, a crash mid-part, an unwritable place. Each leaves the old
part whole and no half-written output. Limits and crashes run in a subprocess, so the test
runner itself is never limited or killed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from casparian_core.sinks import SinkError, open_sink

from .conftest import SINK_KINDS, SinkCase, make_case, numbers

SCHEMA = numbers(0, 0).schema

CHILD_PRELUDE = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    import pyarrow as pa
    from pathlib import Path
    from casparian_core.sinks import SinkError, open_sink

    def numbers(start, stop, tag):
        return pa.table({"n": pa.array(range(start, stop), pa.int64()),
                         "tag": pa.array([tag] * (stop - start), pa.string())})

    sink = open_sink(sys.argv[1], Path("."))
    writer = sink.begin("sales", "in1-v1", numbers(0, 0, "").schema)
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


def commit_old_part(case: SinkCase) -> None:
    writer = case.sink.begin("sales", "in1-v1", SCHEMA)
    writer.write(numbers(0, 3, "old"))
    writer.commit()


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
    reopened = make_case(kind, tmp_path)
    assert [row["tag"] for row in reopened.read("sales")] == ["old"] * 3
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
    reopened = make_case(kind, tmp_path)  # opening a folder sink sweeps dead staging
    assert [row["tag"] for row in reopened.read("sales")] == ["old"] * 3
    assert reopened.leftovers() == []


@pytest.mark.parametrize("kind", SINK_KINDS)
def test_a_location_under_a_regular_file_is_refused_with_a_clear_message(
    kind: str, tmp_path: Path
) -> None:
    # Tests run as root, where chmod does not stop writes; a path through a file stops anyone.
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    uri = f"{kind}://{blocker}/sub" if kind in ("parquet", "arrow") else f"{kind}:///{blocker}/x.db"
    sink = open_sink(uri, tmp_path)

    with pytest.raises(SinkError) as caught:
        sink.begin("sales", "k", SCHEMA)

    assert str(caught.value).startswith(sink.uri)
    assert "choose another --sink" in str(caught.value) or "writable --sink" in str(caught.value)
    assert blocker.read_text() == "not a folder"


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("plain text, not SQLite " * 100)

    with pytest.raises(SinkError, match="not an SQLite database"):
        open_sink(f"sqlite:///{path}", tmp_path).begin("sales", "k", SCHEMA)
