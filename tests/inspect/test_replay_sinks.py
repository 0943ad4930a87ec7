"""Quarantine replay in every sink (issue 17 §3): the prod loop (or a dev run) wrote the `prices`
output and its quarantine to an Arrow IPC folder, a SQLite file or a DuckDB file; a fixed
version registered and replayed writes back into that sink: rows that now pass reach the output
once, resolved entries are kept with who/when/version, rows still bad stay quarantined. A
missing or corrupt sink file and a quarantine table of other columns are clear errors that
change nothing."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from casparian_core.api import QuarantineState
from casparian_core.engine.results import RunOptions
from casparian_core.inspect.errors import QuarantineUnreadableError
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.service import CoreService
from tests.conftest import fixed_clock
from tests.inspect.replay_support import FIRST, FIXED, Home, prepare, register
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # the fixture, used by name

EXPECTED_IDS = Counter({(1, 10): 1, (2, 0): 1, (4, 40): 1, (1, 5): 1, (2, 6): 1, (1, 0): 1})
SINKS = ("sqlite", "duckdb", "arrow")


def sink_uri(home: Home, kind: str) -> str:
    folder = home.settings.home / "sinks"
    if kind == "arrow":
        return f"arrow://{folder / 'feed'}"
    return f"{kind}:///{folder / f'warehouse.{kind}'}"


def sink_file(home: Home, kind: str) -> Path:
    return home.settings.home / "sinks" / f"warehouse.{kind}"


async def process_into(home: Home, uri: str) -> None:
    async with CoreService(home.settings) as service:
        processing = service.processing(ProcessRequest(workers=1, offline=True, sink_uri=uri))
        await processing.prepare()
        summary = await processing.run()
    assert not summary.failed


def valid_rows(home: Home, kind: str) -> Counter[tuple[int, int]]:
    """(id, amount) of every valid row in the sink itself: a duplicate counts 2."""
    if kind == "arrow":
        folder = home.settings.home / "sinks" / "feed" / "prices"
        rows: list[tuple[int, int]] = []
        for part in sorted(folder.glob("*.arrow")):
            with pa.memory_map(str(part)) as source:
                table = pa.ipc.open_file(source).read_all()
            ids, amounts = table.column("id").to_pylist(), table.column("amount").to_pylist()
            rows += zip(ids, amounts, strict=True)
        return Counter(rows)
    connect = sqlite3.connect if kind == "sqlite" else duckdb.connect
    con = connect(str(sink_file(home, kind)))
    try:
        found = con.execute("SELECT id, amount FROM prices").fetchall()
        return Counter((int(key), int(amount)) for key, amount in found)
    finally:
        con.close()


async def open_entries(service: CoreService) -> list[tuple[str, str, int | None, str]]:
    page = await service.inspect.quarantine()
    return sorted(
        (e.output, Path(e.source_file or "").name, e.row_number, e.parser or "")
        for e in page.entries
    )


@pytest.mark.parametrize("kind", SINKS)
async def test_replay_writes_back_into_the_sink_that_holds_the_rows(
    locked: Fixture, kind: str
) -> None:
    home = await prepare(locked)
    uri = sink_uri(home, kind)
    await process_into(home, uri)
    await register(home, FIXED)

    async with CoreService(home.settings, clock=fixed_clock) as service:
        before = await open_entries(service)
        open_ids = {e.id for e in (await service.inspect.quarantine()).entries}
        plan = await service.replay.plan(parser="prices")
        outcome = await service.replay.run(plan, resolved_by="alice", offline=True)
        after = await open_entries(service)
        resolved = await service.inspect.quarantine(state=QuarantineState.RESOLVED)
        shown = await service.inspect.quarantine_row(resolved.entries[0].id)
        again = await service.replay.plan()

    assert [(e[1], e[2]) for e in before] == [("a.csv", 1), ("a.csv", 2), ("c.csv", 0)]
    [written_to] = {f.sink_uri for f in plan.files}
    assert written_to.startswith(f"{kind}://") and written_to.endswith(uri.rpartition("/")[2])
    assert [Path(f.path).name for f in plan.files] == ["a.csv", "c.csv"]
    assert (outcome.resolved, outcome.still_quarantined, outcome.failed) == (2, 1, [])
    assert valid_rows(home, kind) == EXPECTED_IDS  # each row once: the earlier parts replaced
    assert [(e[1], e[2], e[3]) for e in after] == [("a.csv", 2, "prices@2.0.0")]
    assert resolved.total == 2
    for entry in resolved.entries:
        assert (entry.resolved_by, entry.resolved_version) == ("alice", "prices@2.0.0")
        assert entry.resolved_job_id in outcome.jobs and entry.parser == "prices@1.0.0"
    assert {e.id for e in resolved.entries} < open_ids  # the ids they had while open
    assert shown.entry.resolved_by == "alice" and "id" in shown.values
    assert again.empty and [Path(f.path).name for f in again.up_to_date] == ["a.csv"]
    assert not (home.settings.output_dir / "prices").exists()  # nothing went to the home's


async def test_the_same_output_in_two_sinks_replays_each_in_its_own(locked: Fixture) -> None:
    home = await prepare(locked)
    async with CoreService(home.settings) as service:
        processing = service.processing(ProcessRequest(workers=1, offline=True))
        await processing.prepare()
        await processing.run()
    uri = sink_uri(home, "sqlite")
    await process_into(home, uri)
    await register(home, FIXED)

    async with CoreService(home.settings, clock=fixed_clock) as service:
        open_ids = {e.id for e in (await service.inspect.quarantine()).entries}
        outcome = await service.replay.run(await service.replay.plan(), offline=True)
        resolved = await service.inspect.quarantine(state=QuarantineState.RESOLVED)
        after = await open_entries(service)

    assert (outcome.resolved, outcome.still_quarantined) == (4, 2)
    # Resolved entries keep the ids they had while open, the SQLite ones with their prefix.
    assert {e.id for e in resolved.entries} < open_ids
    assert {e.output for e in resolved.entries} == {"prices", "warehouse_prices"}
    assert [(e[0], e[1], e[2]) for e in after] == [
        ("prices", "a.csv", 2),
        ("warehouse_prices", "a.csv", 2),
    ]
    assert valid_rows(home, "sqlite") == EXPECTED_IDS


async def test_replay_after_a_dev_run_into_duckdb(locked: Fixture, tmp_path: Path) -> None:
    home = await prepare(locked, registered=False, scanned=False)
    parser = tmp_path / "dev" / "prices.py"
    parser.parent.mkdir()
    parser.write_text(FIRST)
    uri = sink_uri(home, "duckdb")
    async with CoreService(home.settings) as service:
        service.run_parser(parser, sorted(home.data.glob("*.csv")), RunOptions(sink_uri=uri))
    await register(home, FIXED)

    async with CoreService(home.settings) as service:
        plan = await service.replay.plan()
        outcome = await service.replay.run(plan, offline=True)
        after = await open_entries(service)

    assert [f.input_key for f in plan.files] == ["a.csv", "c.csv"]  # as the dev run keyed them
    assert (outcome.resolved, outcome.still_quarantined) == (2, 1)
    assert valid_rows(home, "duckdb") == EXPECTED_IDS
    assert [(e[1], e[2], e[3]) for e in after] == [("a.csv", 2, "prices@2.0.0")]


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
async def test_a_corrupt_or_missing_sink_file_is_a_clear_error_and_changes_nothing(
    locked: Fixture, kind: str
) -> None:
    home = await prepare(locked)
    await process_into(home, sink_uri(home, kind))
    await register(home, FIXED)
    path = sink_file(home, kind)
    kept = path.with_suffix(".kept")
    path.rename(kept)

    async with CoreService(home.settings) as service:
        with pytest.raises(QuarantineUnreadableError, match="is missing"):
            await service.replay.plan()
        path.write_bytes(b"not a database at all" * 100)
        with pytest.raises(QuarantineUnreadableError, match="not an SQLite or DuckDB database"):
            await service.replay.plan()
        jobs = await service.queue.jobs()

    assert path.read_bytes() == b"not a database at all" * 100  # left as it was
    assert len(jobs) == 3  # process's only: nothing was queued


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
async def test_a_quarantine_table_of_other_columns_is_a_clear_error(
    locked: Fixture, kind: str
) -> None:
    home = await prepare(locked)
    await process_into(home, sink_uri(home, kind))
    await register(home, FIXED)
    connect = sqlite3.connect if kind == "sqlite" else duckdb.connect
    con = connect(str(sink_file(home, kind)))
    con.execute("ALTER TABLE prices_quarantine RENAME COLUMN reason TO why")
    if kind == "sqlite":
        con.commit()  # type: ignore[union-attr]
    con.close()

    async with CoreService(home.settings) as service:
        with pytest.raises(QuarantineUnreadableError, match="no reason"):
            await service.replay.plan()
        jobs = await service.queue.jobs()

    con = connect(str(sink_file(home, kind)))
    (count,) = con.execute("SELECT count(*) FROM prices_quarantine").fetchone()  # type: ignore[misc]
    con.close()
    assert count == 3 and len(jobs) == 3  # every row kept, nothing queued
