"""A backtest: one parser over a set of files through the one engine (a ParserSession), the
files it failed on before first, stopping early once the share of failed files passes a
threshold. Its output goes to a scratch folder removed afterwards: a backtest judges a parser
and changes no output of the home."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.config import Settings
from casparian_core.engine import parser_tests
from casparian_core.engine.results import InputItem, RunResult

if TYPE_CHECKING:
    from casparian_core.service import CoreService

# A rate over fewer files says little: the run stops early only once this many ran.
MIN_FILES_BEFORE_STOPPING = 5


@dataclass(frozen=True)
class Backtest:
    results: list[RunResult]  # in the order run
    planned: int  # files it was given
    stopped_early: bool  # the failure rate passed the threshold before the last file
    failed_before: frozenset[Path]  # of the files, those the parser had failed on


async def backtest(
    service: CoreService,
    parser_path: Path,
    parser_name: str,
    paths: Sequence[Path],
    stop_at_failure_rate: float,
) -> Backtest:
    """Run the backtest (see run_backtest) of the parser on `paths`, those it failed on
    before (in a Parser Bench test, or a production job's dead letter) first. Cancelling the
    caller stops the guest before this returns."""
    failed = set(await service.db.read(parser_tests.failed_inputs, parser_name))
    failed |= {d.input_path for d in await service.queue.dead_letters(parser_name)}
    ordered = failed_first(paths, failed)
    cancel = threading.Event()
    work = asyncio.ensure_future(
        asyncio.to_thread(
            run_backtest, parser_path, ordered, service.settings, stop_at_failure_rate, cancel
        )
    )
    try:
        results = await asyncio.shield(work)
    except asyncio.CancelledError:
        cancel.set()
        with contextlib.suppress(Exception):
            await work  # the guest is gone when the caller hears of the cancel
        raise
    before = frozenset(p for p in ordered if str(p) in failed)
    return Backtest(results, len(ordered), len(results) < len(ordered), before)


def failed_first(paths: Sequence[Path], failed: Collection[str]) -> list[Path]:
    """`paths` with those in `failed` (absolute path text) first, each group in given order."""
    before = [p for p in paths if str(p) in failed]
    return before + [p for p in paths if str(p) not in failed]


def run_backtest(
    parser_path: Path,
    paths: Sequence[Path],
    settings: Settings,
    stop_at_failure_rate: float,
    cancel: threading.Event,
) -> list[RunResult]:
    """Run the parser on `paths` in order, one at a time (each result decides whether to go
    on), until the files failed so far exceed `stop_at_failure_rate` of those run (once
    MIN_FILES_BEFORE_STOPPING ran) or `cancel` is set. Blocking: call it from a thread."""
    from casparian_core.engine.session import ParserSession  # loads zmq: only when running
    from casparian_core.sinks import open_sink

    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="casparian-backtest-") as scratch:
        sink = open_sink(f"parquet://{scratch}")
        with ParserSession(parser_path, settings, sink, force=True, cancel=cancel) as session:
            for path in paths:
                if cancel.is_set():
                    break
                session.submit(InputItem(path, path.as_posix()))
                results.extend(session.results())
                if _past(results, stop_at_failure_rate):
                    break
    return results


def _past(results: list[RunResult], threshold: float) -> bool:
    failed = sum(1 for r in results if not r.ok)
    return len(results) >= MIN_FILES_BEFORE_STOPPING and failed / len(results) > threshold
