"""Faults of the environment (a lock held by another process, a full disk) give one sentence,
and lose nothing."""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.cli.support import casparian, make_home, one_sentence, popen_casparian, write_files

HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE scout_sources SET id = id")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


@contextmanager
def write_lock_held_by_another_process(database: Path) -> Iterator[None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        holder.communicate("", timeout=30)


def test_a_locked_database_is_one_sentence_for_scan_and_rule_add(tmp_path: Path) -> None:
    home, data = make_home(tmp_path / "home"), write_files(tmp_path / "data", 3)
    database = home / "casparian_flow.sqlite3"
    with write_lock_held_by_another_process(database):
        # Both wait out the busy timeout at once, so the test waits for it once.
        waiting = [
            popen_casparian("scan", str(data), home=home),
            popen_casparian("rule", "add", "*.txt", "notes", home=home),
        ]
        results = [
            subprocess.CompletedProcess(p.args, p.wait(timeout=120), *p.communicate())
            for p in waiting
        ]
    for result in results:
        one_sentence(result, str(database), "locked by another process", "run the command again")
    assert casparian("rule", "list", "--json", home=home).stdout.strip() == '{"rules": []}'
    rescan = casparian("scan", str(data), home=home)
    assert rescan.returncode == 0 and "new 3" in rescan.stdout


def _file_size_limit(limit: int) -> None:
    # Past the limit a write fails with EFBIG (rather than the process being killed).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_scan_that_fills_the_disk_is_one_sentence_and_the_catalogue_stays_sound(
    tmp_path: Path,
) -> None:
    home, data = make_home(tmp_path / "home"), write_files(tmp_path / "data", 3000)
    database = home / "casparian_flow.sqlite3"
    limit = database.stat().st_size + 100_000  # room for a few batches, not for 3,000 files
    result = casparian("scan", str(data), home=home, preexec_fn=lambda: _file_size_limit(limit))
    one_sentence(result, str(database), "disk is full or a file-size limit", "intact")
    conn = sqlite3.connect(database)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    again = casparian("scan", str(data), home=home)
    assert again.returncode == 0, again.stderr
    status = casparian("status", "--json", home=home)
    assert '"files": 3000' in status.stdout
