"""Job logs (FS-7): each prod job's guest log lines in `logs/{date}/{job_id}.log` under the home.

A job's log is capped (settings.log_cap_bytes, 10 MB): past the cap the file is rewritten as a
truncation marker followed by the newest lines, so the end of a runaway log, where the failure
usually is, survives. The logs folder is rotated when `casparian process` starts: date folders
older than settings.log_retention_days go, then the oldest job logs until the folder holds at
most settings.log_retention_bytes.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

TRUNCATED = "[TRUNCATED] {dropped} bytes of earlier log lines were dropped; the newest are kept\n"
DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def job_log_path(logs_dir: Path, job_id: str, when: datetime) -> Path:
    return logs_dir / when.date().isoformat() / f"{job_id}.log"


class JobLog:
    """One job's log file, appended to by the guest's log callback (from any thread). The file
    is created with the first line, so a silent job leaves none."""

    def __init__(self, path: Path, cap_bytes: int) -> None:
        self.path = path
        self._cap = cap_bytes
        self._lock = threading.Lock()
        self._size = 0
        self._dropped = 0

    def write(self, level: int, text: str) -> None:
        line = f"{logging.getLevelName(level)} {text.rstrip(chr(10))}\n".encode(
            "utf-8", "backslashreplace"
        )
        with self._lock:
            if self._size == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                handle.write(line)
            self._size += len(line)
            if self._size > self._cap:
                self._keep_tail()

    def _keep_tail(self) -> None:
        """Rewrite the file as the marker and the newest lines, about half the cap, so the
        rewrite happens once per half a cap of new lines rather than on every line."""
        data = self.path.read_bytes()
        if data.startswith(b"[TRUNCATED]"):
            data = data.split(b"\n", 1)[1]  # the old marker is not a log line
        tail = data[-(self._cap // 2) :]
        newline = tail.find(b"\n")
        if 0 <= newline < len(tail) - 1:
            tail = tail[newline + 1 :]  # whole lines only
        self._dropped += len(data) - len(tail)
        marker = TRUNCATED.format(dropped=self._dropped).encode()
        temporary = self.path.with_suffix(".log.tmp")
        temporary.write_bytes(marker + tail)
        os.replace(temporary, self.path)
        self._size = len(marker) + len(tail)


def rotate(logs_dir: Path, today: date, keep_days: int, max_bytes: int) -> list[Path]:
    """Remove the date folders older than the last `keep_days` days, then the oldest job logs
    until the date folders hold at most `max_bytes`. Returns what was removed."""
    if not logs_dir.is_dir():
        return []
    oldest_kept = (today - timedelta(days=keep_days - 1)).isoformat()
    removed: list[Path] = []
    folders = sorted(p for p in logs_dir.iterdir() if p.is_dir() and DATE_FOLDER.match(p.name))
    for folder in folders:
        if folder.name < oldest_kept:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    logs = [
        (folder.name, entry.stat().st_mtime_ns, entry)
        for folder in folders
        if folder.name >= oldest_kept
        for entry in folder.iterdir()
        if entry.is_file()
    ]
    logs.sort()
    total = sum(entry.stat().st_size for _, _, entry in logs)
    for _, _, entry in logs:
        if total <= max_bytes:
            break
        total -= entry.stat().st_size
        entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
