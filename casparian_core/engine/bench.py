"""`ParserBench`: the Parser Bench's API, reached as `CoreService.bench`.

Lists the home's parsers with a health from their last test, picks candidate input files from
the Discover catalogue, and tests a parser on a file through the same engine as `casparian run`
(output to the home's Parquet folder). Each parser keeps a warm `ParserSession` between tests
(re-runs and watch mode start no new guest); it is closed when the parser file changes, and all
are closed with the bench. Every test is recorded in `cf_parser_tests`; it publishes its log
lines as `RunLog`, then `RunFinished` and `DataChanged(origin="parser_bench")`. Async methods
run the sync work in threads.

Importing this module is cheap (the engine, zmq and the contract model load on first use),
because CoreService is on every CLI start-up path.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.config import Settings
from casparian_core.db.connection import format_timestamp
from casparian_core.db.gateway import Gateway
from casparian_core.engine import parser_tests
from casparian_core.engine.parser_tests import ParserTest
from casparian_core.engine.results import InputItem, RunResult, RunStatus
from casparian_core.events import DataChanged, EventBus, RunFinished, RunSummary, publishing_log
from casparian_core.scout import queries

if TYPE_CHECKING:
    from casparian_core.engine.results import InputLogCallback
    from casparian_core.engine.session import ParserSession
    from casparian_core.parsers.discovery import DiscoveredParser

ORIGIN = "parser_bench"
CANDIDATE_LIMIT = 200
HEALTH_OF_STATUS: dict[str, str] = {
    RunStatus.COMPLETED: "passed",
    RunStatus.COMPLETED_WITH_WARNINGS: "warn",
    RunStatus.FAILED: "failed",
}
NEVER_TESTED = "never"


@dataclass(frozen=True)
class BenchParser:
    """A parser file in the home, with the outcome of its last test."""

    parser: DiscoveredParser  # path, metadata or the error that makes it unusable
    health: str  # passed | warn | failed | never ("failed" too when the file is unusable)
    last_tested_at: str | None

    @property
    def name(self) -> str:
        return self.parser.name


@dataclass(frozen=True)
class Candidate:
    """A catalogued file offered for a test, and why it comes where it does in the list."""

    path: Path
    topic_bound: bool  # tagged with one of the parser's topics
    failed_before: bool  # a test of this parser on this file failed


@dataclass
class _WarmSession:
    session: ParserSession
    parser_stat: tuple[int, int, int]  # the parser file's (inode, size, mtime) when opened


class ParserBench:
    def __init__(
        self, settings: Settings, db: Gateway, events: EventBus, clock: Callable[[], datetime]
    ) -> None:
        self._settings = settings
        self._db = db
        self._events = events
        self._clock = clock
        self._sessions: dict[Path, _WarmSession] = {}
        self._sessions_lock = threading.Lock()  # one test drives the sessions at a time

    async def count_parsers(self) -> int:
        """How many parser files the home holds, usable or not. Lists them without reading
        them: counting is on the Home Hub's start-up path, reading contracts loads pyarrow."""
        from casparian_core.parsers.discovery import parser_files

        return len(await asyncio.to_thread(parser_files, self._settings.parsers_dir))

    async def list_parsers(self) -> list[BenchParser]:
        """The home's parsers by name, each with the health of its last test."""
        from casparian_core.parsers.discovery import discover_parsers

        found = await asyncio.to_thread(discover_parsers, self._settings.parsers_dir)
        last = await self._db.read(parser_tests.last_tests)
        listed = []
        for parser in found:
            status, tested_at = last.get(parser.name, (None, None))
            health = HEALTH_OF_STATUS.get(status or "", NEVER_TESTED)
            listed.append(BenchParser(parser, "failed" if parser.error else health, tested_at))
        return listed

    async def test_parser(
        self,
        parser_path: Path,
        input_path: Path,
        on_log: InputLogCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RunResult:
        """Run the parser on one file (always, even if its output exists), write the output to
        the home's Parquet folder and record the test. `on_log(level, text)` may be called from
        a thread; setting `cancel` stops the run (status CANCELLED)."""
        parser_path, input_path = Path(parser_path), Path(input_path)
        if cancel is not None and cancel.is_set():  # nothing ran, nothing to record
            return RunResult(parser_path.stem, "", input_path, RunStatus.CANCELLED)
        job_id = uuid.uuid4().hex
        logged = publishing_log(self._events, job_id, on_log)
        result = await asyncio.to_thread(
            self._run_test, parser_path, input_path, job_id, logged, cancel
        )
        tested_at = format_timestamp(self._clock())
        await self._db.write(parser_tests.record, parser_path, result, tested_at)
        self._events.publish(RunFinished(job_id, RunSummary.of(result)))
        self._events.publish(DataChanged(origin=ORIGIN))
        return result

    async def close(self) -> None:
        """Close the warm sessions (their guests exit)."""
        await asyncio.to_thread(self._close_sessions)

    def _run_test(
        self,
        parser_path: Path,
        input_path: Path,
        job_id: str,
        on_log: InputLogCallback,
        cancel: threading.Event | None,
    ) -> RunResult:
        from casparian_core.inspect.settling import DevRunSettling

        # The input is known by its absolute path: the bench may test any file.
        key = input_path.absolute().as_posix()
        item = InputItem(input_path, key, job_id=job_id, on_log=on_log, cancel=cancel)
        # The quarantine entries an earlier version left for the input are settled after it.
        settling = DevRunSettling(self._settings, self._db, self._clock)
        settling.capture(parser_path, [key], self._settings.output_uri)
        with self._sessions_lock:
            session = self._session_for(parser_path)
            try:
                session.submit(item)
                [result] = session.results()
            except BaseException:
                self._drop_session(parser_path)
                raise
            finally:
                settling.settle()
        return result

    def _session_for(self, parser_path: Path) -> ParserSession:
        """The parser's warm session, opened afresh when the parser file changed since."""
        from casparian_core.engine.session import ParserSession  # loads zmq: only when testing
        from casparian_core.sinks import open_sink

        stat = _file_stat(parser_path)
        warm = self._sessions.get(parser_path)
        if warm is not None and warm.parser_stat == stat:
            return warm.session
        self._drop_session(parser_path)
        sink = open_sink(self._settings.output_uri)
        session = ParserSession(parser_path, self._settings, sink, force=True)
        self._sessions[parser_path] = _WarmSession(session, stat)
        return session

    def _drop_session(self, parser_path: Path) -> None:
        warm = self._sessions.pop(parser_path, None)
        if warm is not None:
            warm.session.close()

    def _close_sessions(self) -> None:
        with self._sessions_lock:
            for parser_path in list(self._sessions):
                self._drop_session(parser_path)

    async def candidate_files(
        self, parser_path: Path, limit: int = CANDIDATE_LIMIT
    ) -> list[Candidate]:
        """Catalogued files to test the parser on: those tagged with one of its topics first
        (files it failed on before first among them), then the others, at most `limit`."""
        from casparian_core.parsers.metadata import read_parser_info

        info = await asyncio.to_thread(read_parser_info, Path(parser_path))
        return await self._db.read(_candidates, info.name, list(info.topics), limit)

    async def recent_tests(self, parser_name: str, limit: int = 20) -> list[ParserTest]:
        """The parser's latest tests, newest first."""
        return await self._db.read(parser_tests.recent, parser_name, limit)

    async def count_tests_since(self, since: str) -> int:
        return await self._db.read(parser_tests.count_since, since)


def _file_stat(path: Path) -> tuple[int, int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (0, 0, 0)  # the session reports the missing parser
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _candidates(
    conn: sqlite3.Connection, parser_name: str, topics: list[str], limit: int
) -> list[Candidate]:
    """Files bound by topic (those the parser failed on first), then the others."""
    failed = queries.tagged_paths(
        conn, topics, limit, among=parser_tests.failed_inputs(conn, parser_name)
    )
    seen = set(failed)
    rest = [p for p in queries.tagged_paths(conn, topics, limit) if p not in seen]
    bound = [Candidate(Path(p), True, True) for p in failed]
    bound += [Candidate(Path(p), True, False) for p in rest[: limit - len(bound)]]
    others = queries.other_paths(conn, topics, limit - len(bound))
    return bound + [Candidate(Path(p), False, False) for p in others]
