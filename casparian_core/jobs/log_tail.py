"""Reading a job's log (logs.py writes it): where it is, and its last lines, bounded whatever the
log's size, for the Jobs screen's detail pane that follows a running job's log."""

from __future__ import annotations

from pathlib import Path

TAIL_BYTES = 64 * 1024  # at most this much of a log's end is read for its last lines


def find_job_log(logs_dir: Path, job_id: str) -> Path | None:
    """The job's log: in the date folder of the day its latest attempt started (a retry after
    midnight writes to the next day's), so the newest date folder holding one. None when the
    job wrote no log line yet (or its log was rotated away)."""
    found = sorted(logs_dir.glob(f"*/{job_id}.log"))
    return found[-1] if found else None


def read_tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of a log; [] when it is gone. Blocking: run it in a thread."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", errors="backslashreplace").splitlines()
    if len(data) == TAIL_BYTES and size > TAIL_BYTES:
        text = text[1:]  # the first line read may be cut
    return text[-lines:]
