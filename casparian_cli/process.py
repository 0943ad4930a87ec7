"""`casparian process [--parser NAME] [--source NAME] [--tag TAG] [--limit N] [--workers N]
[--offline] [--sink URI] [--executor local|dask|dask-local] [--scheduler URL] [--json]`.

Prod mode: enqueues a job for every catalogued file and registered parser bound by topic that
the parser's latest version has not processed yet, then runs the queue dry with warm guests
(retries waited for, paused parsers left alone). A progress bar on a terminal, then a summary
(or one JSON object). Exit 0 when every job completed, 1 when one failed or was dead-lettered,
130 on Ctrl+C: the first stops claiming and lets running jobs finish, the second stops them too
and puts them back in the queue; nothing partial is committed either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING

from casparian_cli.homes import HomeUse
from casparian_cli.interrupts import two_step_stop
from casparian_core.api import (
    EarlyWorkers,
    JobStatus,
    ProcessRequest,
    freeze_for_exit,
    frozen_after_first,
    plural,
)
from casparian_core.config import Settings

if TYPE_CHECKING:
    from casparian_cli.run_progress import RunProgress
    from casparian_core.api import JobReport, ProcessSummary

INTERRUPTED = 130


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "process",
        help="run the registered parsers on the catalogued files they are bound to (prod)",
        description="Queue a job for every catalogued file whose tag is a topic of a "
        "registered parser (its latest version) and that this version has not processed, then "
        "run the queue dry with warm workers: transient failures are retried with backoff, "
        "permanent ones go to the dead letters.",
    )
    parser.add_argument("--parser", metavar="NAME", help="only this registered parser")
    parser.add_argument("--source", metavar="NAME", help="only files of this source")
    parser.add_argument("--tag", metavar="TAG", help="only files with this tag")
    parser.add_argument("--limit", type=int, metavar="N", help="queue at most N new jobs")
    add_run_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run, home_use=HomeUse.EXISTING, runs_jobs=True)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """How the queue runs (`process` and `start`): workers, parser environments, the sink, and
    where jobs run (this machine, or a Dask cluster)."""
    parser.add_argument(
        "--workers", type=int, metavar="N", help="workers at once (default: max_workers)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="build parser environments from the wheels folder"
    )
    parser.add_argument(
        "--sink", metavar="URI", help="where output goes (default: the home's output folder)"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "dask", "dask-local"),
        help="local: this machine's workers; dask: the cluster at --scheduler; dask-local: a "
        "Dask cluster of --workers processes here (default: the executor setting, local)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="URL",
        help="the Dask scheduler, e.g. tcp://HOST:8786 (default: the dask_scheduler setting)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    for name in ("limit", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"casparian: --{name} must be at least 1", file=sys.stderr)
            return 2
    request = ProcessRequest(
        parser=args.parser,
        source=args.source,
        tag=args.tag,
        limit=args.limit,
        workers=args.workers,
        offline=args.offline,
        sink_uri=args.sink,
        executor=args.executor,
        scheduler=args.scheduler,
    )
    # Its worker processes start first: they import the core beside this process's imports.
    with EarlyWorkers(settings, request) as early:
        summary = asyncio.run(_process(settings, request, early, args.json))
    if args.json:
        print(json.dumps(summary.as_json()))
    else:
        _print_summary(summary)
    freeze_for_exit()  # the process ends with this command
    if summary.interrupted:
        return INTERRUPTED
    return 1 if summary.failed else 0


async def _process(
    settings: Settings, request: ProcessRequest, early: EarlyWorkers, quiet: bool
) -> ProcessSummary:
    from casparian_core.service import CoreService

    async with CoreService(settings) as service:
        processing = service.processing(request, early)
        planned = await processing.prepare()
        with two_step_stop(processing.stop):
            if quiet or not sys.stderr.isatty() or not planned.requests:
                return await processing.run(frozen_after_first(None))
            # The bar's imports (rich's) only where it shows.
            from casparian_cli.run_progress import RunProgress

            bar = RunProgress(
                f"processing {plural(len(planned.requests), 'job')}", len(planned.requests)
            )
            rate = _Rate()
            with bar:
                return await processing.run(
                    frozen_after_first(lambda report: rate.advance(bar, report))
                )


class _Rate:
    """Rows per second since the first job ended, shown beside the bar."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._rows = 0

    def advance(self, bar: RunProgress, report: JobReport) -> None:
        if report.status == JobStatus.QUEUED:
            return  # a retry is due: not done yet
        self._rows += report.result.rows
        elapsed = max(time.monotonic() - self._started, 1e-6)
        bar.advance(f"{self._rows / elapsed:,.0f} rows/s")


def _print_summary(summary: ProcessSummary) -> None:
    if not summary.planned and not summary.reports:
        print(
            f"Nothing to process ({plural(summary.already_done, 'input')} already processed by "
            "the current parser versions)."
        )
    counts = ", ".join(f"{n} {status.lower()}" for status, n in sorted(summary.counts.items()))
    if counts:
        print(f"Jobs: {counts}. Rows: {summary.rows:,}, quarantined: {summary.quarantined:,}.")
    if summary.already_done and summary.planned:
        print(f"Left out: {plural(summary.already_done, 'input')} already processed.")
    for report in summary.failures:
        code = report.result.error_code or "UNKNOWN_ERROR"
        print(
            f"  {report.status.lower()}: {report.job.input_path} ({report.job.parser_name} "
            f"{report.job.parser_version}, attempt {report.job.attempt}): {code}: "
            f"{report.result.error_message}"
        )
    if summary.failures:
        print(
            "Each failed job has a dead letter: `casparian jobs --dead-letter` lists them, "
            "`casparian jobs show <id>` shows one with its log."
        )
    for name in summary.paused_parsers:
        print(
            f"Parser {name!r} is paused (circuit breaker: 5 failures in a row): its jobs wait "
            f"in the queue until `casparian parser resume {name}`; `casparian errors list` "
            "shows why it failed."
        )
    if summary.interrupted:
        print("Interrupted: the jobs not run stay in the queue; `casparian process` resumes them.")
