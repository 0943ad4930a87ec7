"""Job logs: the per-job cap keeps the tail, and rotation keeps the last N days or M bytes."""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

from casparian_core.jobs.logs import JobLog, job_log_path, rotate


def test_a_log_over_its_cap_keeps_a_marker_and_the_newest_lines(tmp_path: Path) -> None:
    log = JobLog(tmp_path / "2026-12-01" / "job.log", cap_bytes=4096)

    for number in range(1000):
        log.write(logging.INFO, f"line {number:04d}")

    text = log.path.read_text()
    assert len(text.encode()) <= 4096
    first, *lines = text.splitlines()
    dropped = int(first.split()[1])
    assert first == (
        f"[TRUNCATED] {dropped} bytes of earlier log lines were dropped; the newest are kept"
    )
    assert lines[-1] == "INFO line 0999"
    numbers = [int(line.split()[-1]) for line in lines]
    assert numbers == list(range(numbers[0], 1000))  # whole lines, none missing at the end
    assert dropped == sum(len(f"INFO line {n:04d}\n") for n in range(numbers[0]))


def test_a_silent_job_leaves_no_log(tmp_path: Path) -> None:
    path = job_log_path(tmp_path, "abc", datetime(2026, 12, 1, 23, 59, tzinfo=UTC))
    JobLog(path, cap_bytes=4096)
    assert path == tmp_path / "2026-12-01" / "abc.log"
    assert not path.parent.exists()


def write_log(logs: Path, day: str, name: str, size: int, mtime: int) -> Path:
    path = logs / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, ns=(mtime, mtime))
    return path


def test_rotation_keeps_the_last_days_then_the_newest_bytes(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    too_old = write_log(logs, "2026-11-24", "a.log", 10, 1)
    oldest_kept = write_log(logs, "2026-11-25", "b.log", 600, 2)
    older = write_log(logs, "2026-11-30", "c.log", 600, 3)
    newer = write_log(logs, "2026-11-30", "d.log", 600, 4)
    today = write_log(logs, "2026-12-01", "e.log", 600, 5)
    daemon = logs / "daemon.log"
    daemon.write_text("not a job log")

    removed = rotate(logs, date(2026, 12, 1), keep_days=7, max_bytes=1300)

    assert removed == [too_old.parent, oldest_kept, older]
    assert not too_old.parent.exists()
    assert [p.exists() for p in (oldest_kept, older, newer, today, daemon)] == [
        False,
        False,
        True,
        True,
        True,
    ]


def test_rotation_of_a_missing_folder_does_nothing(tmp_path: Path) -> None:
    assert rotate(tmp_path / "none", date(2026, 12, 1), keep_days=7, max_bytes=1 << 20) == []
