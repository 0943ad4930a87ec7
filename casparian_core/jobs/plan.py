"""Planning `casparian process`: which (catalogued file, registered parser) pairs need a job.

A file and a parser are bound by topic: the file's tag is one of the parser's topics; the latest
registered version of each parser is the one run. A pair is left out when the sink already holds
it: every output of the parser has a committed part for the file's input key made by this
parser version from the file's present content (the sink's PartInfo). That check hashes a file
only when its parts were made by this version, so a first run hashes nothing here; the worker's
session would skip the same input anyway, but leaving it out keeps the queue and the summary to
real work.

An input key is `{source name}/{path within the source}`: two sources holding the same relative
path have distinct keys, hence distinct parts in every output.

The daemon plans a batch whenever something changed; it passes the `PlannedFiles` of its earlier
batches, so a pair planned before whose file the catalogue shows unchanged (same size and
modification time; the daemon's watcher keeps them current) is left out without asking the sink,
which would read the part and hash the file again: each batch costs what changed, not the whole
catalogue.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from casparian_core.engine.inputs import hash_file, part_key
from casparian_core.jobs.input_keys import input_key
from casparian_core.jobs.model import JobRequest
from casparian_core.registry.facade import Registry
from casparian_core.registry.store import RegisteredParser
from casparian_core.scout.facade import Scout
from casparian_core.scout.queries import FileQuery, FileRow
from casparian_core.sinks import Sink, open_sink
from casparian_core.sinks.uri import canonical_uri

PAGE = 1000


@dataclass(frozen=True)
class ProcessRequest:
    """What `casparian process` was asked for (None: no narrowing)."""

    parser: str | None = None
    source: str | None = None
    tag: str | None = None
    limit: int | None = None
    workers: int | None = None
    offline: bool = False
    sink_uri: str | None = None  # default: the home's output folder, as Parquet
    executor: str | None = None  # local, dask or dask-local; default: settings.executor
    scheduler: str | None = None  # the Dask scheduler's address; default: settings'


@dataclass(frozen=True)
class Candidate:
    parser: RegisteredParser
    outputs: tuple[str, ...]  # its approved contracts' outputs
    file: FileRow
    input_key: str


@dataclass(frozen=True)
class Plan:
    batch_id: str
    requests: list[JobRequest]
    parsers: list[RegisteredParser]  # the versions that were considered
    already_done: int  # pairs left out: the sink holds them from this version and content
    unchanged: int = 0  # pairs left out: planned by an earlier batch, their file unchanged since


class PlannedFiles:
    """What earlier plans saw of each (parser version, catalogued file): the file's size and
    modification time. Kept in memory by the daemon (a restart plans everything once)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, int], tuple[int, int]] = {}

    def unchanged(self, candidate: Candidate) -> bool:
        return self._seen.get(_pair(candidate)) == _state(candidate)

    def remember(self, candidates: Sequence[Candidate]) -> None:
        for candidate in candidates:
            self._seen[_pair(candidate)] = _state(candidate)


def _pair(candidate: Candidate) -> tuple[str, str, int]:
    return (candidate.parser.name, candidate.parser.version, candidate.file.id)


def _state(candidate: Candidate) -> tuple[int, int]:
    return (candidate.file.size, candidate.file.mtime_ns)


async def plan(
    registry: Registry,
    scout: Scout,
    request: ProcessRequest,
    sink_uri: str,
    planned: PlannedFiles | None = None,
) -> Plan:
    """The jobs to queue; with `planned` (the daemon's), only for pairs new or changed since
    the plans it remembers, and it remembers this one."""
    parsers = await latest_parsers(registry, request.parser)
    source_id = None if request.source is None else (await scout.find_source(request.source)).id
    names = {source.id: source.name for source in await scout.sources()}
    candidates: list[Candidate] = []
    for parser in parsers:
        outputs = tuple(
            c.output for c in (await registry.show(parser.name, parser.version)).contracts
        )
        for topic in parser.topics:
            if request.tag is not None and topic != request.tag:
                continue
            async for row in _files(scout, FileQuery(source_id=source_id, tag=topic)):
                key = input_key(names[row.source_id], row.rel_path)
                candidates.append(Candidate(parser, outputs, row, key))
    considered = len(candidates)
    if planned is not None:
        candidates = [c for c in candidates if not planned.unchanged(c)]
    done = await asyncio.to_thread(_already_done, candidates, sink_uri)
    batch_id, sink = uuid.uuid4().hex, canonical_uri(sink_uri)
    requests = [
        JobRequest(
            parser_name=c.parser.name,
            parser_version=c.parser.version,
            input_path=c.file.path,
            file_id=c.file.id,
            batch_id=batch_id,
            sink_uri=sink,
        )
        for c, skip in zip(candidates, done, strict=True)
        if not skip
    ]
    if request.limit is not None:
        requests = requests[: request.limit]
    if planned is not None:
        planned.remember(candidates)
    return Plan(batch_id, requests, parsers, sum(done), considered - len(candidates))


async def latest_parsers(registry: Registry, name: str | None) -> list[RegisteredParser]:
    """The latest registered version of each parser (of `name` only: ParserNotRegisteredError
    when it has none)."""
    if name is not None:
        return [(await registry.show(name)).parser]
    latest: dict[str, RegisteredParser] = {}
    for parser in await registry.parsers():  # by name, then registration: the last one wins
        latest[parser.name] = parser
    return list(latest.values())


async def _files(scout: Scout, query: FileQuery) -> AsyncIterator[FileRow]:
    offset = 0
    while True:
        page = await scout.files_page(query, offset=offset, limit=PAGE)
        for row in page.rows:
            yield row
        if not page.has_more:
            return
        offset += len(page.rows)


def _already_done(candidates: Sequence[Candidate], sink_uri: str) -> list[bool]:
    sink = open_sink(sink_uri)
    try:
        return [_in_sink(sink, c) for c in candidates]
    finally:
        sink.close()


def _in_sink(sink: Sink, candidate: Candidate) -> bool:
    if not candidate.outputs:
        return False
    key = part_key(candidate.input_key)
    version = candidate.parser.version
    made = [sink.committed(output, key) for output in candidate.outputs]
    infos = [info for info in made if info is not None and info.parser_version == version]
    if len(infos) < len(made):
        return False
    try:
        content = hash_file(Path(candidate.file.path))
    except OSError:
        return False  # the worker reports what is wrong with it
    return all(
        (info.source_hash, info.input_key) == (content, candidate.input_key) for info in infos
    )
