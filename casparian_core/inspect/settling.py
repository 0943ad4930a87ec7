"""The audit trail around every run that re-runs inputs into a sink: `process`, the daemon, a
replay, a backfill's swap, a dev run (`casparian run`) and a Parser Bench test.

- **Capture**, just before the run: the open quarantine entries an earlier version of the same
  parser left in the sink for the inputs it is about to run (found by their part keys: only
  those parts are read) are snapshotted, row by row, as pending in the audit trail
  (resolutions.py). A pool captures the jobs queued when it starts, whoever queued them, so
  jobs queued by a process that died (a daemon killed before running its batch) are captured
  by whichever run picks them up.
- **Settle**, after it: every pending input the sink shows re-run is settled (resolved by the
  job and version that now hold its parts, or dropped when still bad: the new entry stands);
  the captured inputs it did not re-run (their job failed) and that no job is still queued or
  running for are dropped, their entries open in the sink as before.

The snapshot lives in the control plane, so a run killed between its commit and its settling
loses nothing: the next settle (any run, or planning a replay) resolves it. Blocking: the
service calls these from a thread; a dev run, from its own.
"""

from __future__ import annotations

import getpass
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from casparian_core.db.connection import format_timestamp
from casparian_core.engine.inputs import part_key
from casparian_core.errors import CasparianError
from casparian_core.inspect import resolutions
from casparian_core.inspect.errors import QuarantineUnreadableError
from casparian_core.inspect.resolutions import PendingPart, Settled
from casparian_core.jobs import queue

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from casparian_core.config import Settings
    from casparian_core.db.gateway import Gateway
    from casparian_core.inspect.catalog import SinkPlace
    from casparian_core.inspect.quarantine_parts import PartStore, QuarantinePart

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rerun:
    """An input a run is about to run: its parts' key in every output, and the parser version
    that will write them."""

    parser: str
    version: str
    part_key: str


def queued_reruns(db: Gateway, sink_uri: str) -> list[Rerun]:
    """The inputs of the jobs a pool writing `sink_uri` (not a backfill's) would claim now."""
    from casparian_core.sinks.uri import canonical_uri

    with db.reading() as conn:
        found = queue.queued_inputs(conn, canonical_uri(sink_uri))
    return [Rerun(parser, version, part_key(key)) for parser, version, key in found]


def capture(
    db: Gateway,
    settings: Settings,
    sink_uri: str,
    reruns: Sequence[Rerun],
    resolved_by: str,
    now: str,
) -> list[PendingPart]:
    """Snapshot as pending the open entries of `reruns` that another version of their parser
    made in the sink; returns what was captured (again, if it was pending already)."""
    if not reruns:
        return []
    store = _store(sink_uri)
    try:  # each part's rows read as it is found (a folder store reads the file once)
        found = [(p, store.rows(p.sink_output, p.part_key)) for p in outdated(store, reruns)]
    except QuarantineUnreadableError:  # a sink not written yet, or broken: the run will say
        return []
    if not found:
        return []
    prefix = _prefix(_places(db, settings), store.uri)
    captured, rows = [], []
    for part, entries in found:
        pending = PendingPart(
            prefix + part.sink_output,
            part.part_key,
            part.job_id,
            part.parser,
            part.sink_uri,
            part.sink_output,
        )
        captured.append(pending)
        rows += snapshot_rows(pending, entries, resolved_by, now)
    with db.writing() as conn:
        resolutions.snapshot(conn, rows)
    return captured


def outdated(store: PartStore, reruns: Sequence[Rerun]) -> Iterator[QuarantinePart]:
    """The quarantine parts in the store of the inputs of `reruns` made by another version of
    the same parser: only those inputs' parts are read."""
    runs = {(rerun.parser, rerun.part_key): rerun.version for rerun in reruns}
    for part in store.parts(keys={rerun.part_key for rerun in reruns}):
        if runs.get((part.parser or "", part.part_key)) not in (None, part.parser_version):
            yield part


def snapshot_rows(
    part: PendingPart, entries: Sequence[dict[str, Any]], resolved_by: str, now: str
) -> list[dict[str, Any]]:
    """Each open entry of the input's part, whole, as the audit trail keeps it (its id as
    while open: the output as the catalogue names it)."""
    return [
        {
            "entry_id": f"{part.output}:{row['job_id'] or ''}:{row['row_index']}",
            "output": part.output,
            "part_key": part.part_key,
            **row,
            "resolved_by": resolved_by,
            "replayed_at": now,
            "sink": part.sink,
            "sink_output": part.sink_output,
        }
        for row in entries
    ]


def _store(sink_uri: str) -> PartStore:
    """The quarantine store of the sink at `sink_uri`, by the URI the sink states (absolute)."""
    from casparian_core.inspect.quarantine_parts import store_for
    from casparian_core.sinks import open_sink

    sink = open_sink(sink_uri)
    uri = sink.uri
    sink.close()
    return store_for(uri)


def settle(db: Gateway, home_uri: str, now: str) -> dict[tuple[str, str], Settled]:
    """Resolve the pending rows of every input the sink shows re-run since they were
    captured; by (output, part key)."""
    from casparian_core.inspect.quarantine_parts import store_for

    with db.reading() as conn:
        pending = resolutions.pending_parts(conn)
    settled: dict[tuple[str, str], Settled] = {}
    for part in pending:
        store = store_for(part.sink or home_uri)
        try:
            state = store.state(part.sink_output or part.output, part.part_key)
        except QuarantineUnreadableError:
            continue  # its sink cannot be read now: pending until it can
        if state.job_id == part.job_id:
            continue  # not re-run yet
        version = f"{part.parser}@{state.parser_version}" if state.parser_version else None
        with db.writing() as conn:
            settled[(part.output, part.part_key)] = resolutions.settle(
                conn, part, state.quarantined_rows, at=now, version=version, job_id=state.job_id
            )
    return settled


def settle_run(
    db: Gateway, captured: Sequence[PendingPart], home_uri: str, now: str
) -> dict[tuple[str, str], Settled]:
    """After a run: settle (everything pending); then drop the captured inputs it did not
    re-run, unless a job is still queued or running for them (it will settle them)."""
    settled = settle(db, home_uri, now)
    with db.reading() as conn:
        active = {(parser, part_key(key)) for parser, _, key in queue.active_inputs(conn)}
    for part in captured:
        done = (part.output, part.part_key) in settled
        if not done and (part.parser, part.part_key) not in active:
            with db.writing() as conn:
                resolutions.drop_pending(conn, part)
    return settled


class DevRunSettling:
    """A dev run (`casparian run`, a Parser Bench test) captures and settles as a pool does
    when its home has a control plane (the gateway is opened for it, then closed, when it was
    not open): its inputs' open entries made by another version of the parser it runs (the
    version its file declares, registered or not) are resolved by the run's job and that
    version where it now passes them. Failing here never fails the run (its outputs are
    committed all the same): a warning says so."""

    def __init__(self, settings: Settings, db: Gateway, clock: Callable[[], datetime]) -> None:
        self._settings = settings
        self._db = db
        self._clock = clock
        self._opened = False
        self._captured: list[PendingPart] = []

    def capture(self, parser_path: Path, input_keys: Sequence[str], sink_uri: str) -> None:
        """Before the run of the parser on the inputs the outputs know by `input_keys`."""
        db = self._db
        try:
            if not db.is_open and self._settings.database_path.is_file():
                db.open()
                self._opened = True
            if db.is_open:
                reruns = _dev_reruns(parser_path, input_keys)
                now = format_timestamp(self._clock())
                self._captured = capture(db, self._settings, sink_uri, reruns, os_user(), now)
        except (CasparianError, sqlite3.Error) as error:
            logger.warning("The quarantine entries this run replaces are not recorded: %s", error)

    def settle(self) -> None:
        """After the run (whatever its end)."""
        try:
            if self._db.is_open:
                home_uri = self._settings.output_uri
                now = format_timestamp(self._clock())
                settle_run(self._db, self._captured, home_uri, now)
        except (CasparianError, sqlite3.Error) as error:
            logger.warning(
                "The quarantine entries this run replaced are not settled yet (%s): the next "
                "run or replay settles them",
                error,
            )
        finally:
            if self._opened:
                self._db.close()
                self._opened = False


def _dev_reruns(parser_path: Path, input_keys: Sequence[str]) -> list[Rerun]:
    from casparian_core.parsers.metadata import read_parser_info

    info = read_parser_info(parser_path)  # ParserLoadError: the run reports it
    return [Rerun(info.name, info.version, part_key(key)) for key in input_keys]


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container)
        return "unknown"


def _places(db: Gateway, settings: Settings) -> list[SinkPlace]:
    from casparian_core.inspect.catalog import sink_places
    from casparian_core.inspect.locations import output_locations

    with db.reading() as conn:
        known = output_locations(conn)
    return sink_places(settings, known)


def _prefix(places: Sequence[SinkPlace], sink_uri: str) -> str:
    """The prefix the catalogue gives the tables of the sink at `sink_uri`."""
    from casparian_core.inspect.quarantine_parts import stores_at

    for place in places:
        if any(store.uri == sink_uri for store in stores_at(place)):
            return place.prefix
    return ""
