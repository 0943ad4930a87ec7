"""`service.replay`: run the files whose rows are quarantined again, with their parser's current
registered version and contracts, through the job queue and the same local pool `casparian
process` uses, into the sink that holds them (any sink the catalogue knows: Parquet or Arrow
IPC folders, SQLite or DuckDB files; quarantine_parts.py reads them), one pool per sink.

A replay job runs its input under the key the outputs know it by (a source's "name/rel" or a
dev run's relative path), so its commit replaces the input's earlier parts in every output,
all or nothing: rows that now pass reach the output once. Before the jobs run, the open rows
of their inputs (in every output) are captured in the audit trail, as before any run
(settling.py); once the sink shows a file re-run, a row is resolved when the new job
quarantined no row at its row index in that output, and otherwise it is the new job's entry.
A file quarantined by the current version already is left out (the same version gives the
same rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.db.connection import format_timestamp
from casparian_core.inspect import settling
from casparian_core.inspect.resolutions import PendingPart, Settled
from casparian_core.inspect.settling import Rerun
from casparian_core.jobs.errors import JobNotFoundError
from casparian_core.jobs.model import JobRequest
from casparian_core.jobs.status import JobStatus
from casparian_core.registry.errors import ParserNotRegisteredError
from casparian_core.sinks.uri import canonical_uri

if TYPE_CHECKING:
    from casparian_core.inspect.catalog import SinkPlace
    from casparian_core.inspect.quarantine_parts import QuarantinePart
    from casparian_core.jobs.executor import Executor, JobReport
    from casparian_core.registry.facade import ParserDetail
    from casparian_core.service import CoreService

FAILED_STATUSES = frozenset({JobStatus.FAILED, JobStatus.DEAD_LETTER})


@dataclass(frozen=True)
class ReplayFile:
    """One input to run again: one job."""

    path: str
    input_key: str
    parser: str
    from_version: str
    from_job_id: str | None
    outputs: list[str]  # the outputs holding its quarantined rows, as the catalogue names them
    entries: int
    part_key: str
    sink_uri: str  # the sink holding them, which its job writes to
    sink_outputs: list[str]  # `outputs` as the sink names them
    file_id: int | None = None  # its catalogue row, when the prod loop ran it


@dataclass(frozen=True)
class ReplayParser:
    """What a replay runs: the parser's current registered version and its contracts."""

    name: str
    version: str
    contracts: list[str]  # "output (schema hash)"


@dataclass(frozen=True)
class ReplayPlan:
    files: list[ReplayFile]  # to run again
    up_to_date: list[ReplayFile]  # quarantined by the current version: the same rows again
    missing: list[ReplayFile]  # the input file is no longer there
    parsers: list[ReplayParser]
    entries: int  # the open entries of `files`
    effect: str
    unreadable: list[str] = field(default_factory=list)  # quarantine part files left out

    @property
    def empty(self) -> bool:
        return not self.files

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "empty": self.empty}


@dataclass(frozen=True)
class ReplayFailure:
    path: str
    job_id: str
    error_code: str | None
    message: str | None


@dataclass
class ReplayOutcome:
    jobs: list[str] = field(default_factory=list)
    resolved: int = 0
    still_quarantined: int = 0
    rows_added: int = 0
    failed: list[ReplayFailure] = field(default_factory=list)
    interrupted: bool = False

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class Replays:
    def __init__(self, service: CoreService) -> None:
        self._service = service
        self._pool: Executor | None = None
        self._stopping = False

    async def plan(
        self, *, job_id: str | None = None, parser: str | None = None, output: str | None = None
    ) -> ReplayPlan:
        """The files whose open entries match every filter given, and what will run them."""
        from casparian_core.inspect.quarantine_parts import quarantine_parts

        service = self._service
        if output is not None:
            await service.inspect.table(output)  # TableNotFoundError for an unknown output
        await self.settle()
        places = await self._places()
        unreadable: list[str] = []
        found = await asyncio.to_thread(
            lambda: [
                part
                for part in quarantine_parts(places, output, unreadable)
                if _matches(part, job_id, parser)
            ]
        )
        if job_id is not None and not found:
            await service.queue.job(job_id)  # JobNotFoundError for an id nothing knows
        if parser is not None:
            await service.registry.show(parser.partition("@")[0])
        details = {name: await self._current(name, found) for name in _parsers(found)}
        files = [await self._locate(file) for file in _files(found)]
        current = {name: detail.parser.version for name, detail in details.items()}
        up_to_date = [f for f in files if f.from_version == current[f.parser]]
        missing = [f for f in files if f not in up_to_date and not Path(f.path).is_file()]
        todo = [f for f in files if f not in up_to_date and f not in missing]
        parsers = [_replay_parser(details[name]) for name in sorted({f.parser for f in todo})]
        entries = sum(f.entries for f in todo)
        effect = _effect(todo, up_to_date, missing, parsers, unreadable)
        return ReplayPlan(todo, up_to_date, missing, parsers, entries, effect, unreadable)

    async def run(
        self,
        plan: ReplayPlan,
        *,
        resolved_by: str | None = None,
        workers: int | None = None,
        offline: bool = False,
        on_report: Callable[[JobReport], object] | None = None,
    ) -> ReplayOutcome:
        """Enqueue a job per file and run the queue dry, capturing and settling the open
        entries its jobs re-run (settling.py), resolved by `resolved_by` (the OS user)."""
        from casparian_core.jobs.plan import ProcessRequest
        from casparian_core.jobs.process import local_pool

        service = self._service
        outcome = ReplayOutcome()
        if plan.empty:
            return outcome
        await service.queue.reset_orphans()  # a killed replay's jobs, to run now
        by_file: dict[str, ReplayFile] = {}
        reports: dict[str, JobReport] = {}
        settled: dict[tuple[str, str], Settled] = {}

        def record(report: JobReport) -> None:
            if report.job.job_id in by_file:
                reports[report.job.job_id] = report
                if on_report is not None:
                    on_report(report)

        # A pool writes one sink: each sink's jobs are queued and run dry in turn.
        for sink_uri, files in _by_sink(plan.files).items():
            if self._stopping:
                break
            made = await service.queue.enqueue(_requests(plan, files))
            by_file.update(zip((entry.job_id for entry in made), files, strict=True))
            captured = await self.capture_queued(sink_uri, resolved_by)
            pool = local_pool(
                service, ProcessRequest(workers=workers, offline=offline), sink_uri, record
            )
            self._pool = pool
            try:
                await pool.run()
            finally:
                self._pool = None
            settled.update(await self.settle_run(captured))
        outcome.jobs = list(by_file)
        outcome.interrupted = self._stopping
        for job_id, file in by_file.items():
            _count(outcome, file, settled, reports.get(job_id))
        return outcome

    def stop(self, *, abandon: bool = False) -> None:
        """Start no more replay jobs (Ctrl+C); with `abandon`, stop those running too, their
        files left as they were."""
        self._stopping = True
        if self._pool is not None:
            self._pool.stop(abandon=abandon)

    async def capture_queued(
        self, sink_uri: str, resolved_by: str | None = None
    ) -> list[PendingPart]:
        """Before a pool runs the queue into a sink: capture (settling.py) the open entries
        of the inputs its queued jobs re-run with another version of their parser, whoever
        queued them (a daemon that died before running its batch), so that they settle once
        it ran (`settle_run`). Returns what was captured."""
        service = self._service
        reruns = await asyncio.to_thread(settling.queued_reruns, service.db, sink_uri)
        return await self.capture(sink_uri, reruns, resolved_by)

    async def capture(
        self, sink_uri: str, reruns: Sequence[Rerun], resolved_by: str | None = None
    ) -> list[PendingPart]:
        """Capture the open entries of `reruns` in the sink (settling.capture)."""
        service = self._service
        now = format_timestamp(service.clock())
        who = resolved_by or settling.os_user()
        return await asyncio.to_thread(
            settling.capture, service.db, service.settings, sink_uri, reruns, who, now
        )

    async def settle_run(self, captured: Sequence[PendingPart]) -> dict[tuple[str, str], Settled]:
        """After a run: settle every pending input it (or anything before it) re-ran; drop
        what it captured and did not re-run, unless a job is still queued for it."""
        now = format_timestamp(self._service.clock())
        return await asyncio.to_thread(
            settling.settle_run, self._service.db, captured, self._home_uri(), now
        )

    async def settle(self) -> dict[tuple[str, str], Settled]:
        """Resolve the pending snapshot rows of every input the sink shows re-run since."""
        now = format_timestamp(self._service.clock())
        return await asyncio.to_thread(settling.settle, self._service.db, self._home_uri(), now)

    def _home_uri(self) -> str:
        return self._service.settings.output_uri

    async def _places(self) -> list[SinkPlace]:
        """The sinks the catalogue knows: the home's output folder and where jobs and dev
        runs wrote."""
        from casparian_core.inspect.catalog import sink_places
        from casparian_core.inspect.locations import output_locations

        service = self._service
        known = await service.db.read(output_locations)
        return await asyncio.to_thread(sink_places, service.settings, known)

    async def _current(self, name: str, parts: Sequence[QuarantinePart]) -> ParserDetail:
        try:
            return await self._service.registry.show(name)
        except ParserNotRegisteredError:
            made = sum(part.entries for part in parts if part.parser == name)
            raise ParserNotRegisteredError(
                f"{made:,} quarantined rows were made by the parser {name!r}, which is not "
                "registered (a `casparian run` dev run): register it with `casparian parser "
                "register <path>` (a fixed version), then replay"
            ) from None

    async def _locate(self, file: ReplayFile) -> ReplayFile:
        """A prod job's input as the queue knows it (its catalogue row); a dev run's as its
        rows name it."""
        job = None
        if file.from_job_id is not None:
            with contextlib.suppress(JobNotFoundError):
                job = (await self._service.queue.job(file.from_job_id)).job
        if job is None:  # a dev run's path may be relative: to where replay runs
            return dataclasses.replace(file, path=os.path.abspath(file.path))
        return dataclasses.replace(file, path=job.input_path, file_id=job.file_id)


def _matches(part: QuarantinePart, job_id: str | None, parser: str | None) -> bool:
    if job_id is not None and part.job_id != job_id:
        return False
    return parser is None or parser in (part.parser, f"{part.parser}@{part.parser_version}")


def _parsers(parts: Sequence[QuarantinePart]) -> list[str]:
    return sorted({part.parser for part in parts if part.parser})


def _files(parts: Sequence[QuarantinePart]) -> list[ReplayFile]:
    """One file per sink, parser and input, with the outputs holding its rows."""
    grouped: dict[tuple[str, str, str], list[QuarantinePart]] = {}
    for part in parts:
        if part.parser:
            grouped.setdefault((part.sink_uri, part.parser, part.info.input_key), []).append(part)
    files = []
    for (sink_uri, parser, input_key), group in sorted(grouped.items()):
        first = group[0]
        files.append(
            ReplayFile(
                path=first.source_path or input_key,
                input_key=input_key,
                parser=parser,
                from_version=first.parser_version or first.info.parser_version,
                from_job_id=first.job_id,
                outputs=[part.output for part in group],
                entries=sum(part.entries for part in group),
                part_key=first.part_key,
                sink_uri=sink_uri,
                sink_outputs=[part.sink_output for part in group],
            )
        )
    return files


def _replay_parser(detail: ParserDetail) -> ReplayParser:
    contracts = [f"{c.output} ({c.schema_hash[:12]})" for c in detail.contracts]
    return ReplayParser(detail.parser.name, detail.parser.version, contracts)


def _effect(
    todo: list[ReplayFile],
    up_to_date: list[ReplayFile],
    missing: list[ReplayFile],
    parsers: list[ReplayParser],
    unreadable: list[str],
) -> str:
    from casparian_core.units import plural

    lines = []
    if todo:
        outputs = sorted({output for file in todo for output in file.outputs})
        runs = ", ".join(f"{p.name}@{p.version}" for p in parsers)
        lines.append(
            f"Runs {plural(len(todo), 'file')} again with {runs} through the job queue, for "
            f"{plural(sum(f.entries for f in todo), 'quarantined row')} of "
            f"{', '.join(outputs)}. Each file's earlier rows are replaced all or nothing; rows "
            "that now pass reach the output and their entries are marked resolved; rows still "
            "bad stay quarantined, as entries of the new jobs."
        )
    else:
        lines.append("Nothing to replay.")
    if up_to_date:
        lines.append(
            f"{plural(len(up_to_date), 'file')} left out: quarantined by the current version "
            "already (register a fixed version, then replay)."
        )
    if missing:
        lines.append(
            f"{plural(len(missing), 'file')} left out: no longer found "
            f"({', '.join(f.path for f in missing[:3])}{', ...' if len(missing) > 3 else ''})."
        )
    if unreadable:
        lines.append(
            f"{plural(len(unreadable), 'quarantine part')} left out: cannot be read "
            f"({'; '.join(unreadable[:3])}{'; ...' if len(unreadable) > 3 else ''}); their "
            "rows stay as they are: restore or remove the files."
        )
    return " ".join(lines)


def _by_sink(files: Sequence[ReplayFile]) -> dict[str, list[ReplayFile]]:
    grouped: dict[str, list[ReplayFile]] = {}
    for file in files:
        grouped.setdefault(file.sink_uri, []).append(file)
    return grouped


def _requests(plan: ReplayPlan, files: Sequence[ReplayFile]) -> list[JobRequest]:
    versions = {parser.name: parser.version for parser in plan.parsers}
    batch = uuid.uuid4().hex
    return [
        JobRequest(
            parser_name=file.parser,
            parser_version=versions[file.parser],
            input_path=file.path,
            file_id=file.file_id,
            batch_id=batch,
            input_key=file.input_key,
            sink_uri=canonical_uri(file.sink_uri),  # only the pool of that sink claims it
        )
        for file in files
    ]


def _count(
    outcome: ReplayOutcome,
    file: ReplayFile,
    settled: dict[tuple[str, str], Settled],
    report: JobReport | None,
) -> None:
    for output in file.outputs:
        done = settled.get((output, file.part_key))
        if done is not None:
            outcome.resolved += done.resolved
            outcome.still_quarantined += done.still_quarantined
    if report is None:
        return
    if report.result.ok:
        outcome.rows_added += report.result.rows
    elif report.status in FAILED_STATUSES:
        code = report.result.error_code
        outcome.failed.append(
            ReplayFailure(
                file.path,
                report.job.job_id,
                None if code is None else str(code),
                report.result.error_message,
            )
        )
