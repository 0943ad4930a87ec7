"""CoreService: the one API of the core. The CLI and the TUI do everything through it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from casparian_core.ai.approvals import Approvals
from casparian_core.ai.assistant import Assistant
from casparian_core.ai.outside import OutsideTools
from casparian_core.backfill.facade import Backfills
from casparian_core.bridge.confine import IsolationReport, guest_isolation
from casparian_core.config import Settings
from casparian_core.db.connection import format_timestamp
from casparian_core.db.gateway import Gateway
from casparian_core.engine.bench import ParserBench
from casparian_core.events import (
    DataChanged,
    Event,
    EventBus,
    RunFinished,
    RunSummary,
    Subscriber,
    publishing_session_log,
)
from casparian_core.home import prepare_home
from casparian_core.inspect.facade import Inspect
from casparian_core.inspect.replay import Replays
from casparian_core.jobs.facade import JobQueue
from casparian_core.outputs import OutputTable, list_output_tables
from casparian_core.registry.facade import Registry
from casparian_core.scout.facade import Scout
from casparian_core.stats import Stats

if TYPE_CHECKING:  # the dev run's types; the engine itself loads on first use
    import threading
    from collections.abc import Sequence
    from pathlib import Path

    from casparian_core.engine.backtest import Backtest
    from casparian_core.engine.results import RunOptions, RunResult, SessionLogCallback
    from casparian_core.jobs.daemon import Daemon, DaemonRequest
    from casparian_core.jobs.plan import ProcessRequest
    from casparian_core.jobs.process import Processing
    from casparian_core.jobs.worker_start import EarlyWorkers
    from casparian_core.registry.vendor import VendorReport
    from casparian_core.scout.survey import Survey

Clock = Callable[[], datetime]
RECENT_TESTS_WINDOW = timedelta(hours=24)


def system_clock() -> datetime:
    return datetime.now(UTC)


class CoreService:
    """Owns the database gateway and the event bus for one CASPARIAN_HOME.

    `start()` prepares the home and opens the database; `stop()` closes it. While started, the
    service notices commits by other processes (the CLI, a daemon) and publishes `DataChanged`.
    """

    def __init__(self, settings: Settings, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.clock = clock
        self.events = EventBus()
        self.db = Gateway(settings.database_path)
        self.scout = Scout(self.db, self.events)
        self.bench = ParserBench(settings, self.db, self.events, clock)
        self.registry = Registry(settings, self.db, self.events, clock)
        self.assistant = Assistant(self)
        self.queue = JobQueue(self.db, self.events, clock, settings.retry_backoff_secs)
        self.inspect = Inspect(settings, self.db)
        self.replay = Replays(self)
        self.approvals = Approvals(self)
        self.tools = OutsideTools(self)  # the assistant's tools for outside clients (MCP)
        self.backfill = Backfills(self)  # reprocess what older parser versions produced
        self._watch_task: asyncio.Task[None] | None = None

    async def start(self, watch: bool = False) -> None:
        """With `watch`, also follow the sources that have watching on (the TUI, the daemon)."""
        if self.db.is_open:
            return
        await asyncio.to_thread(prepare_home, self.settings)
        await asyncio.to_thread(self.db.open)
        # Read the version now, not in the task, so no commit slips in before the first look.
        version = await self.db.data_version()
        self._watch_task = asyncio.create_task(self._watch_other_writers(version))
        await self.assistant.sync_pending()  # actions proposed before this face started
        if watch:
            await self.scout.start_watching()

    async def stop(self) -> None:
        await self.assistant.close()
        await self.scout.close()
        await self.bench.close()
        self.tools.close()
        self.events.close()
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
            self._watch_task = None
        await asyncio.to_thread(self.db.close)

    async def __aenter__(self) -> CoreService:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def run_parser(
        self,
        parser_path: Path,
        inputs: Sequence[Path],
        options: RunOptions,
        *,
        input_root: Path | None = None,
        on_log: SessionLogCallback | None = None,
        on_result: Callable[[RunResult], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[RunResult]:
        """A dev run (`casparian run`): the engine's `run_parser` with this home's settings.
        Needs no database, so no `start()`; blocking (call it from a thread in async code).
        Where it wrote is recorded in the home's database when there is one (even when the
        run is interrupted), so Inspect, `tables` and replay see those outputs."""
        from casparian_core.engine.inputs import input_keys
        from casparian_core.engine.run import run_parser  # loads zmq: only when running
        from casparian_core.inspect.settling import DevRunSettling

        finished_results: list[RunResult] = []

        def finished(result: RunResult) -> None:
            finished_results.append(result)
            self.events.publish(RunFinished(result.job_id, RunSummary.of(result)))
            if on_result is not None:
                on_result(result)

        # The quarantine entries it replaces are recorded, when the home has a database.
        settling = DevRunSettling(self.settings, self.db, self.clock)
        settling.capture(parser_path, input_keys(inputs, input_root), options.sink_uri)
        try:
            return run_parser(
                parser_path,
                inputs,
                self.settings,
                options,
                input_root=input_root,
                on_log=publishing_session_log(self.events, on_log),
                on_result=finished,
                cancel=cancel,
            )
        finally:
            self._record_dev_run(finished_results)
            settling.settle()

    def _record_dev_run(self, results: Sequence[RunResult]) -> None:
        from casparian_core.inspect.locations import record_dev_run

        record_dev_run(self.settings, self.db, results, format_timestamp(self.clock()))

    def processing(self, request: ProcessRequest, early: EarlyWorkers | None = None) -> Processing:
        """`casparian process`: plan and enqueue (`prepare`), then run the queue dry (`run`),
        with the worker processes the command started `early`, if it did."""
        from casparian_core.jobs.process import Processing

        return Processing(self, request, early)

    def daemon(self, request: DaemonRequest) -> Daemon:
        """`casparian start`: follow the watched sources and run the queue until `stop()`."""
        from casparian_core.jobs.daemon import Daemon

        return Daemon(self, request)

    def vendor_wheels(
        self, parser: Path, folder: Path, progress: Callable[[str], object] | None = None
    ) -> VendorReport:
        """`casparian vendor`: download into `folder` every wheel the lock of the parser folder
        `parser` needs on this platform and Python, for `--offline` builds on an air-gapped
        machine. Needs no database; blocking, each line of progress passed to `progress`."""
        from casparian_core.registry.vendor import vendor_wheels

        return vendor_wheels(parser, folder, progress)

    async def vendor_registered_wheels(
        self,
        name: str,
        version: str | None,
        folder: Path,
        progress: Callable[[str], object] | None = None,
    ) -> VendorReport:
        """`casparian vendor <name>`: as vendor_wheels, for the lock of a registered version
        (the latest when `version` is None), read from its verified artifact."""
        from casparian_core.registry.vendor import vendor_lock

        lock_text, pyproject_text = await self.registry.project_files(name, version)
        return await asyncio.to_thread(vendor_lock, lock_text, pyproject_text, folder, progress)

    @staticmethod
    def guest_isolation() -> IsolationReport:
        """What confines parsers' guests on this machine (probed, never assumed)."""
        return guest_isolation()

    async def output_tables(self) -> list[OutputTable]:
        """The tables in the home's Parquet output folder (quarantine tables included), with
        their row counts from the Parquet footers."""
        return await asyncio.to_thread(list_output_tables, self.settings.output_dir)

    async def survey(self, folder: Path, max_files: int) -> Survey:
        """A quick look at a folder, cataloguing nothing: its files by kind and extension,
        sizes and sample paths, walked as a scan walks (no links followed, ignores obeyed),
        stopping after `max_files` files."""
        from casparian_core.scout.survey import survey_folder

        return await asyncio.to_thread(survey_folder, folder, max_files)

    async def backtest(
        self,
        parser_path: Path,
        parser_name: str,
        paths: Sequence[Path],
        stop_at_failure_rate: float,
    ) -> Backtest:
        """Run the parser over `paths` through the engine, files it failed on before first,
        stopping once more than `stop_at_failure_rate` of the files run failed; its output
        goes to a scratch folder (engine/backtest.py)."""
        from casparian_core.engine.backtest import backtest

        return await backtest(self, parser_path, parser_name, paths, stop_at_failure_rate)

    async def watch_parsers(self) -> None:
        """Publish ParsersChanged as parser files appear, change or go in the home's parsers
        folder; runs until cancelled (a face runs it in a task while it shows parsers)."""
        from casparian_core.parsers.watch import watch_parsers

        await watch_parsers(self.settings.parsers_dir, self.events)

    def parser_saves(self, parser_path: Path) -> AsyncIterator[None]:
        """An async iterator that yields once per save of the parser file at `parser_path` (how
        Parser Bench's watch mode knows to re-run), until the caller stops iterating."""
        from casparian_core.parsers.watch import parser_saves

        return parser_saves(parser_path)

    def subscribe(self, subscriber: Subscriber, *types: type[Event]) -> Callable[[], None]:
        """`subscriber` receives the events of `types` (every event when none are given), from
        any thread; returns a function that unsubscribes it."""
        return self.events.subscribe(subscriber, *types)

    async def stats(self, *, count_outputs: bool = True) -> Stats:
        """The home's numbers. With `count_outputs` False the output tables are left uncounted
        (None): reading Parquet footers loads pyarrow, which the Home Hub need not wait for.
        The tables are those of every sink the home knows of (`service.inspect.counts`)."""
        since = format_timestamp(self.clock() - RECENT_TESTS_WINDOW)
        counts = await self.scout.counts()
        recent_tests = await self.bench.count_tests_since(since)
        parsers = await self.bench.count_parsers()
        jobs = await self.queue.counts()
        tables, rows, quarantined = None, None, None
        if count_outputs:
            found = await self.inspect.counts()  # every sink the home knows of
            tables, rows, quarantined = found.tables, found.rows, found.quarantined_rows
        return Stats(
            files=counts.files,
            sources=counts.sources,
            tags=counts.tags,
            untagged_files=counts.untagged_files,
            parsers=parsers,
            recent_tests=recent_tests,
            tables=tables,
            rows=rows,
            quarantined_rows=quarantined,
            jobs={status.value: count for status, count in jobs.items()},
        )

    async def _watch_other_writers(self, version: int) -> None:
        while True:
            await asyncio.sleep(self.settings.change_poll_secs)
            current = await self.db.data_version()
            if current != version:
                version = current
                self.events.publish(DataChanged(origin="another process"))
                await self.assistant.sync_pending()  # actions other faces proposed or decided
