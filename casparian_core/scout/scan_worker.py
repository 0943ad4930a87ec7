"""The worker processes of a large scan: they walk and compare on both cores.

A scan starts in the scanning process; past `HANDOVER_AFTER` walk items it hands the rest of
the walk to workers (`python -m casparian_core.scout.scan_worker`, fresh interpreters: the TUI
scans from a thread, and forking a process with threads is unsafe). The rest of a whole-source
walk is cut in two ranges of rel_paths, one worker each: in a rescan the scanning process has
next to nothing to write and each core walks half the tree; in a first scan the workers take
turns on the core the writer leaves. Each worker walks, reads and hashes files and compares
them with its range of the catalogue through a read-only connection (compare.py); the scanning
process writes the batches of both as they come (the ranges are disjoint, so their order does
not matter), and acknowledges each on the worker's stdin: a worker waits once it is MAX_AHEAD
batches ahead. The job arrives pickled on stdin, the batches leave pickled through a pipe, and
while the writer is behind, the new files they find are staged in a file of their own
(staging.py); a worker never writes to the database, so killing the workers (on cancel, or when
one dies) leaves the catalogue as the last applied batch left it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import reduce
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import TracebackType

from casparian_core import children
from casparian_core.db.connection import BUSY_TIMEOUT_MS
from casparian_core.processes import left_by_dead_process, lower_priority
from casparian_core.scout.compare import ChangeBatch, Resume, ScanJob, ScanTally, compare
from casparian_core.scout.errors import ScanWorkerDiedError
from casparian_core.scout.staging import StageFile
from casparian_core.scout.walk import split_point

# Fewer walk items than this are scanned in-process: starting a worker costs ~0.1-0.2 s.
HANDOVER_AFTER = 20_000
STAGE_DIR_PREFIX = "scan-staging-"
# Batches a worker may send ahead of those written: enough to keep the writer busy, few enough
# that a cancel or a dying writer wastes little, and the staged rows stay near the writer.
MAX_AHEAD = 4
# Added to a worker's nice value: workers that ran ahead wait for the writer anyway, so when
# the cores are short the writer goes first (1 M first scan: 58-62 -> 58-63 k files/s).
WORKER_NICENESS = 5
POLL_SECS = 0.1  # how often to look at the cancel flag while waiting for a batch
STDERR_TAIL_BYTES = 2_000


def worker_jobs(job: ScanJob, resume: Resume) -> list[ScanJob]:
    """The jobs of the workers that go on from `resume`: the rest of a whole-source walk cut in
    two ranges, the rest of a refresh (a folder) in one."""
    job = replace(job, handover_after=None, resume=resume)
    cut = split_point(job.root, resume.start) if job.scope is None else None
    if cut is None:
        return [job]
    return [replace(job, end=cut), replace(job, resume=Resume(cut))]


class ScanWorkers:
    """The worker processes of one scan, one per range of the walk, and their batches."""

    def __init__(self, database: Path, jobs: Sequence[ScanJob], tally: ScanTally) -> None:
        # The first range goes on counting from the scanning process's tally, the others from 0.
        self._tallies = [tally, *(ScanTally() for _ in jobs[1:])]
        self._workers: list[ScanWorker] = []
        # The workers' staging files (staging.py), beside the database: the same disk, which
        # has room for the rows anyway.
        remove_abandoned_stage_dirs(database.parent)
        self._stage_dir = Path(
            tempfile.mkdtemp(prefix=f"{STAGE_DIR_PREFIX}{os.getpid()}-", dir=database.parent)
        )
        try:
            for index, (job, start_tally) in enumerate(zip(jobs, self._tallies, strict=True)):
                stage = self._stage_dir / f"worker-{index}.sqlite3"
                self._workers.append(ScanWorker(database, job, start_tally, stage))
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ScanWorkers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def batches(self, cancel: threading.Event) -> Iterator[ChangeBatch]:
        """The workers' batches as they arrive, each with the tally of all ranges so far; the
        last one (with its outcome) comes once every worker sent its last. Stops early, without
        it, once `cancel` is set. Raises ScanWorkerDiedError if a worker ends without its last
        batch."""
        tallies = list(self._tallies)
        running = {worker.connection: index for index, worker in enumerate(self._workers)}
        while running:
            for ready in wait(list(running), POLL_SECS):
                assert isinstance(ready, Connection)  # wait() returns what it was given
                if cancel.is_set():
                    return
                index = running[ready]
                batch = self._workers[index].receive()
                tallies[index] = batch.tally
                if batch.outcome is not None:
                    del running[ready]
                yield replace(
                    batch,
                    tally=reduce(ScanTally.plus, tallies),  # ranges in walk order
                    outcome=None if running else batch.outcome,
                )
                self._workers[index].acknowledge()  # asked for more: the batch is written
            if cancel.is_set():
                return

    def close(self) -> None:
        """Stop the workers that still run, release their pipes and delete their staging
        files."""
        for worker in self._workers:
            worker.close()
        shutil.rmtree(self._stage_dir, ignore_errors=True)


def remove_abandoned_stage_dirs(folder: Path) -> None:
    """Delete the staging folders of scanning processes that died without cleaning up (killed,
    the machine stopped); their names carry the process id."""
    for stage_dir in folder.glob(f"{STAGE_DIR_PREFIX}*"):
        if left_by_dead_process(stage_dir.name.removeprefix(STAGE_DIR_PREFIX)):
            shutil.rmtree(stage_dir, ignore_errors=True)


class ScanWorker:
    """One worker process of a scan, and the batches it sends."""

    def __init__(self, database: Path, job: ScanJob, tally: ScanTally, stage: Path) -> None:
        self._root = job.root
        read_fd, write_fd = os.pipe()
        # A file, not a pipe: it can never fill up and block the worker.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        try:
            # Its own process group (children.py): a terminal's Ctrl+C (sent to the foreground
            # group) must not kill it, even while it starts; the scanning process turns Ctrl+C
            # into a cancel and stops the workers itself, after writing what it received.
            self._process = children.start(
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
        # Set from here, it holds from the worker's first steps.
        lower_priority(self._process.pid, WORKER_NICENESS)
        self._batches = Connection(read_fd, writable=False)
        stdin = self._process.stdin
        assert stdin is not None
        self._acks = stdin  # after the job, one byte per batch written (see _work)
        try:
            pickle.dump((database, job, tally, stage), stdin)
            stdin.flush()
        except BrokenPipeError:
            pass  # it died at once: receive() reports it

    @property
    def connection(self) -> Connection:
        """The end of the pipe its batches arrive on."""
        return self._batches

    def receive(self) -> ChangeBatch:
        """Its next batch; raises ScanWorkerDiedError if it ended without its last one."""
        try:
            return self._batches.recv()
        except (EOFError, OSError):  # nothing more, or a message cut short: it died
            raise ScanWorkerDiedError(
                self._root, self._process.wait(), self._stderr_tail()
            ) from None

    def acknowledge(self) -> None:
        """Tell it one more of its batches is written."""
        try:
            self._acks.write(b"\0")
            self._acks.flush()
        except BrokenPipeError:
            pass  # it has ended (after its last batch, or dying: receive() reports that)

    def close(self) -> None:
        """Stop the worker if it still runs (a cancel, an error), and release its pipes."""
        self._process.stop()
        self._batches.close()
        # An acknowledgement a worker that ended could not take may still be buffered.
        with contextlib.suppress(BrokenPipeError):
            self._acks.close()
        self._stderr.close()

    def _stderr_tail(self) -> str:
        self._stderr.seek(max(0, self._stderr.seek(0, os.SEEK_END) - STDERR_TAIL_BYTES))
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""


class _WriterAcks:
    """The writer's acknowledgements, read from stdin once the job is: a byte per batch
    written."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.sent = 0
        self.written = 0

    @property
    def behind(self) -> int:
        """Batches sent and not written yet."""
        return self.sent - self.written

    def take(self, *, wait: bool) -> bool:
        """Count the acknowledgements that have arrived, waiting for one if `wait`; False once
        the writer is gone."""
        if wait or select.select([self._fd], [], [], 0)[0]:
            received = os.read(self._fd, MAX_AHEAD)
            if not received:
                return False
            self.written += len(received)
        return True


def _work(write_fd: int) -> None:
    children.end_with_parent()  # a scan whose process ended has no use for us
    # Raw reads on stdin after the job: nothing follows it until the first batch is written.
    database, job, tally, stage_path = pickle.load(sys.stdin.buffer)
    acks = _WriterAcks(sys.stdin.fileno())
    out = Connection(write_fd, readable=False)
    conn = sqlite3.connect(database.as_uri() + "?mode=ro", uri=True, isolation_level=None)
    stage = StageFile(stage_path)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        for batch in compare(job, tally, conn, cancelled=lambda: False):
            if not acks.take(wait=False):
                return  # the scanning process is gone
            # While the writer is behind, it is the scan's bottleneck: stage the new rows here,
            # on this core (staging.py). When it waits for us (hashing is slow), it has the time
            # to take them as they are, and staging would only slow this worker down.
            if batch.inserts and acks.behind > 0:
                batch = replace(batch, inserts=[], staged=stage.append(batch.inserts))
            out.send(batch)
            acks.sent += 1
            while acks.behind >= MAX_AHEAD:  # wait for the writer
                if not acks.take(wait=True):
                    return
    finally:
        stage.close()
        conn.close()
        out.close()


if __name__ == "__main__":
    _work(int(sys.argv[1]))
