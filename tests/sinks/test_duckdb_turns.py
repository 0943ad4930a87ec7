"""Two processes writing one DuckDB file take turns instead of failing on DuckDB's own lock
(`casparian run` beside the daemon): real processes, a real file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from casparian_core.sinks import PartInfo, SinkError, file_turns, open_sink

DEADLINE_SECS = 60.0


def writer(path: Path, key: str, *hold: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sinks.duckdb_writer", str(path), key, *hold],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: object, process: subprocess.Popen[str]) -> None:
    """Poll `condition` while `process` runs (it must not end first)."""
    deadline = time.monotonic() + DEADLINE_SECS
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


def test_a_second_process_waits_for_its_turn_then_writes(tmp_path: Path) -> None:
    path = tmp_path / "out.duckdb"
    first = writer(path, "a", "--hold")
    assert first.stdout is not None and first.stdout.readline() == "staged\n"

    second = writer(path, "b")
    wait_until(lambda: file_turns.someone_waits(path), second)  # not failed: waiting
    out, err = first.communicate("go\n", timeout=DEADLINE_SECS)
    assert first.returncode == 0, err
    out, err = second.communicate(timeout=DEADLINE_SECS)

    assert second.returncode == 0, err
    assert out.splitlines() == ["staged", "committed"]
    with duckdb.connect(str(path), read_only=True) as conn:
        keys = conn.execute("SELECT key, count(*) FROM rows GROUP BY key ORDER BY key").fetchall()
    assert keys == [("a", 100), ("b", 100)]


def test_a_turn_kept_too_long_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.duckdb"
    holder = writer(path, "a", "--hold")
    assert holder.stdout is not None and holder.stdout.readline() == "staged\n"
    monkeypatch.setattr(file_turns, "WAIT_SECS", 0.2)
    sink = open_sink(f"duckdb:///{path}")
    table = pa.table({"n": [1], "key": ["b"]})
    try:
        with pytest.raises(SinkError, match=rf"another process \(pid {holder.pid}\)"):
            sink.begin("rows", "b", table.schema, PartInfo("b", "hash", "1"))
    finally:
        sink.close()
        holder.communicate("go\n", timeout=DEADLINE_SECS)
    assert holder.returncode == 0


def test_the_holder_keeps_its_turn_while_nobody_waits(tmp_path: Path) -> None:
    path = tmp_path / "out.duckdb"
    sink = open_sink(f"duckdb:///{path}")
    table = pa.table({"n": [1], "key": ["a"]})
    for key in ("a", "b"):
        part = sink.begin("rows", key, table.schema, PartInfo(key, "hash", "1"))
        part.write(table)
        sink.commit_together([part]).result()
        # Nobody waits: the connection stays open for the next input (no reconnect per input).
        assert sink._connection is not None  # type: ignore[attr-defined]
    sink.close()
    assert not file_turns.someone_waits(path)
