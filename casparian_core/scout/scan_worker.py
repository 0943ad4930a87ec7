"""The worker process of a large scan: it walks and compares on the second core.

A scan starts in the scanning process; past `HANDOVER_AFTER` walk items it hands the rest of
the walk to this worker (`python -m casparian_core.scout.scan_worker`, a fresh interpreter: the
TUI scans from a thread, and forking a process with threads is unsafe). The worker walks, reads
and hashes files and compares them with the catalogue through a read-only connection
(compare.py); the scanning process only writes the batches it receives. The job arrives pickled
on stdin, the batches leave pickled through a pipe; the worker never writes to the database, so
killing it (on cancel) leaves the catalogue as the last applied batch left it.
"""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

from casparian_core.db.connection import BUSY_TIMEOUT_MS
from casparian_core.scout.compare import ChangeBatch, ScanJob, ScanTally, compare
from casparian_core.scout.errors import ScanWorkerDiedError

# Fewer walk items than this are scanned in-process: starting the worker costs ~0.1-0.2 s.
HANDOVER_AFTER = 20_000
POLL_SECS = 0.1  # how often to look at the cancel flag while waiting for a batch
STDERR_TAIL_BYTES = 2_000


class ScanWorker:
    """The worker process of one scan, and the batches it sends."""

    def __init__(self, database: str, job: ScanJob, tally: ScanTally) -> None:
        self._root = job.root
        read_fd, write_fd = os.pipe()
        # A file, not a pipe: it can never fill up and block the worker.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            self._stderr.close()
            raise
        finally:
            os.close(write_fd)
        self._batches = Connection(read_fd, writable=False)
        stdin = self._process.stdin
        assert stdin is not None
        try:
            pickle.dump((database, job, tally), stdin)
            stdin.close()
        except BrokenPipeError:
            pass  # it died at once: batches() reports it

    def __enter__(self) -> ScanWorker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def batches(self, cancel: threading.Event) -> Iterator[ChangeBatch]:
        """The worker's batches up to its last one; stops early, without it, once `cancel` is
        set. Raises ScanWorkerDiedError if the worker ends without its last batch."""
        while True:
            while not cancel.is_set() and not self._batches.poll(POLL_SECS):
                pass
            if cancel.is_set():
                return
            try:
                batch: ChangeBatch = self._batches.recv()
            except (EOFError, OSError):  # nothing more, or a message cut short: it died
                raise ScanWorkerDiedError(
                    self._root, self._process.wait(), self._stderr_tail()
                ) from None
            yield batch
            if batch.outcome is not None:
                return

    def close(self) -> None:
        """Stop the worker if it still runs (a cancel, an error), and release its pipes."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._batches.close()
        self._stderr.close()

    def _stderr_tail(self) -> str:
        self._stderr.seek(max(0, self._stderr.seek(0, os.SEEK_END) - STDERR_TAIL_BYTES))
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""


def _work(write_fd: int) -> None:
    # Ctrl+C in a terminal reaches the whole process group: the scanning process turns it into
    # a cancel and stops this worker itself, after writing what it received.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    database, job, tally = pickle.load(sys.stdin.buffer)
    out = Connection(write_fd, readable=False)
    conn = sqlite3.connect(Path(database).as_uri() + "?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        for batch in compare(job, tally, conn, cancelled=lambda: False):
            out.send(batch)
    finally:
        conn.close()
        out.close()


if __name__ == "__main__":
    _work(int(sys.argv[1]))
