"""`service.replay` end to end: a real registered parser whose contract quarantines rows, run
by the prod loop (real queue, guests, Parquet), fixed (a new version registered) and replayed:
rows reach the output once, entries are resolved with who/when/version/job, still-bad rows
stay quarantined; by job, parser and output; nothing to do; a version that raises; after a dev
run; bad input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from casparian_core.api import QuarantineState
from casparian_core.engine.results import RunOptions
from casparian_core.inspect.errors import QuarantineEntryNotFoundError, TableNotFoundError
from casparian_core.jobs.errors import JobNotFoundError
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.status import JobStatus
from casparian_core.registry.errors import ParserNotRegisteredError
from casparian_core.service import CoreService
from tests.conftest import fixed_clock
from tests.inspect.replay_support import FIRST, FIXED, RAISING, Home, prepare, register
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # the fixture, used by name

DONE = {JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_WARNINGS}
RESOLVED_AT = "2026-11-27T12:00:00.000000Z"  # FIXED_NOW as the control plane writes it


async def process(home: Home) -> None:
    async with CoreService(home.settings) as service:
        processing = service.processing(ProcessRequest(workers=1, offline=True))
        await processing.prepare()
        summary = await processing.run()
    assert not summary.failed


async def valid_ids(service: CoreService) -> Counter[tuple[int, int]]:
    """(id, amount) of every valid row of `prices`, counted: a duplicate counts 2."""
    result = await service.inspect.query("SELECT id, amount FROM prices")
    return Counter((row["id"], row["amount"]) for row in result.table.to_pylist())


async def open_entries(service: CoreService) -> list[tuple[str, int | None, str]]:
    page = await service.inspect.quarantine()
    return sorted(
        (Path(e.source_file or "").name, e.row_number, e.parser or "") for e in page.entries
    )


async def test_a_fixed_version_replayed_resolves_what_now_passes_and_keeps_the_rest(
    locked: Fixture,
) -> None:
    home = await prepare(locked)
    await process(home)
    await register(home, FIXED)

    async with CoreService(home.settings, clock=fixed_clock) as service:
        before = await open_entries(service)
        plan = await service.replay.plan(parser="prices")
        outcome = await service.replay.run(plan, resolved_by="alice", offline=True)
        after = await open_entries(service)
        ids = await valid_ids(service)
        resolved = await service.inspect.quarantine(state=QuarantineState.RESOLVED)
        every = await service.inspect.quarantine(state=QuarantineState.ALL)
        jobs = {job.job_id: job for job in await service.queue.jobs()}
        again = await service.replay.plan()

    assert before == [
        ("a.csv", 1, "prices@1.0.0"),
        ("a.csv", 2, "prices@1.0.0"),
        ("c.csv", 0, "prices@1.0.0"),
    ]
    assert [(Path(f.path).name, f.from_version, f.entries) for f in plan.files] == [
        ("a.csv", "1.0.0", 2),
        ("c.csv", "1.0.0", 1),
    ]
    assert [(p.name, p.version) for p in plan.parsers] == [("prices", "2.0.0")]
    assert plan.parsers[0].contracts[0].startswith("prices (")
    assert plan.entries == 3 and "2 files" in plan.effect and "prices@2.0.0" in plan.effect
    assert (outcome.resolved, outcome.still_quarantined, outcome.failed) == (2, 1, [])
    assert outcome.rows_added == 4  # a.csv's 3 valid rows and c.csv's one, written again
    assert not outcome.interrupted
    # Every id once: a.csv 1,2,4 and b.csv 1,2 and c.csv 1 — the earlier parts replaced.
    assert ids == Counter({(1, 10): 1, (2, 0): 1, (4, 40): 1, (1, 5): 1, (2, 6): 1, (1, 0): 1})
    assert after == [("a.csv", 2, "prices@2.0.0")]  # "bad": quarantined by the new job
    [still] = [entry for entry in every.entries if entry.resolved_at is None]
    assert still.job_id in outcome.jobs and still.rule == "not_null"
    assert (resolved.total, every.total) == (2, 3)
    by_file = {Path(e.source_file or "").name: e for e in resolved.entries}
    assert set(by_file) == {"a.csv", "c.csv"}
    for entry in resolved.entries:
        assert entry.resolved_by == "alice"
        assert entry.resolved_at == RESOLVED_AT
        assert entry.resolved_version == "prices@2.0.0"
        assert entry.resolved_job_id in outcome.jobs
        assert entry.parser == "prices@1.0.0"  # as it was while open
        assert jobs[entry.resolved_job_id or ""].status in DONE
    assert by_file["a.csv"].row_number == 1 and by_file["c.csv"].row_number == 0
    # The second plan has nothing: "bad" was quarantined by the current version already.
    assert again.empty and [Path(f.path).name for f in again.up_to_date] == ["a.csv"]


async def test_a_resolved_entry_shows_its_row_and_resolution(locked: Fixture) -> None:
    home = await prepare(locked)
    await process(home)
    await register(home, FIXED)

    async with CoreService(home.settings, clock=fixed_clock) as service:
        entries = (await service.inspect.quarantine()).entries
        [c_entry] = [e for e in entries if (e.source_file or "").endswith("c.csv")]
        outcome = await service.replay.run(
            await service.replay.plan(job_id=c_entry.job_id), resolved_by="bob", offline=True
        )
        shown = await service.inspect.quarantine_row(c_entry.id)
        with pytest.raises(QuarantineEntryNotFoundError):
            await service.inspect.quarantine_row("prices:nope:0")

    assert outcome.resolved == 1 and len(outcome.jobs) == 1
    assert shown.values == {"id": "1", "amount": "null"}  # as 1.0.0 produced it
    assert shown.entry.id == c_entry.id
    assert (shown.entry.resolved_by, shown.entry.resolved_version) == ("bob", "prices@2.0.0")
    assert shown.entry.resolved_job_id == outcome.jobs[0]


async def test_replay_by_job_leaves_the_other_files_alone(locked: Fixture) -> None:
    home = await prepare(locked)
    await process(home)
    await register(home, FIXED)

    async with CoreService(home.settings) as service:
        entries = (await service.inspect.quarantine()).entries
        [c_job] = {e.job_id for e in entries if (e.source_file or "").endswith("c.csv")}
        plan = await service.replay.plan(job_id=c_job)
        outcome = await service.replay.run(plan, offline=True)
        left = await open_entries(service)

    assert [Path(f.path).name for f in plan.files] == ["c.csv"]
    assert outcome.resolved == 1
    assert left == [("a.csv", 1, "prices@1.0.0"), ("a.csv", 2, "prices@1.0.0")]


async def test_replay_by_output_and_an_unknown_output(locked: Fixture) -> None:
    home = await prepare(locked)
    await process(home)
    await register(home, FIXED)

    async with CoreService(home.settings) as service:
        plan = await service.replay.plan(output="prices")
        with pytest.raises(TableNotFoundError):
            await service.replay.plan(output="no_such_output")

    assert [Path(f.path).name for f in plan.files] == ["a.csv", "c.csv"]


async def test_a_replay_with_nothing_to_do(locked: Fixture) -> None:
    home = await prepare(locked)
    await process(home)  # quarantined by 1.0.0, still the current version

    async with CoreService(home.settings) as service:
        plan = await service.replay.plan()
        outcome = await service.replay.run(plan)
        jobs = await service.queue.jobs()

    assert plan.empty and plan.entries == 0
    assert len(plan.up_to_date) == 2 and "register a fixed version" in plan.effect
    assert (outcome.jobs, outcome.resolved) == ([], 0)
    assert len(jobs) == 3  # only process's: the replay queued nothing


async def test_a_version_that_raises_fails_its_jobs_and_changes_nothing(
    locked: Fixture,
) -> None:
    home = await prepare(locked)
    await process(home)
    await register(home, RAISING)

    async with CoreService(home.settings) as service:
        before = (await open_entries(service), await valid_ids(service))
        outcome = await service.replay.run(await service.replay.plan(), offline=True)
        after = (await open_entries(service), await valid_ids(service))
        resolved = await service.inspect.quarantine(state=QuarantineState.RESOLVED)
        pending = await service.db.read(
            lambda conn: conn.execute("SELECT count(*) FROM cf_quarantine_resolutions").fetchone()
        )

    assert outcome.resolved == 0 and outcome.rows_added == 0
    assert sorted(Path(f.path).name for f in outcome.failed) == ["a.csv", "c.csv"]
    assert all("breaks on every file" in (f.message or "") for f in outcome.failed)
    assert after == before  # nothing lost, nothing resolved
    assert resolved.total == 0 and pending == (0,)


async def test_replay_after_a_dev_run_replaces_its_rows(locked: Fixture, tmp_path: Path) -> None:
    home = await prepare(locked, registered=False, scanned=False)
    parser = tmp_path / "dev" / "prices.py"
    parser.parent.mkdir()
    parser.write_text(FIRST)
    inputs = sorted(home.data.glob("*.csv"))
    async with CoreService(home.settings) as service:
        sink = f"parquet://{home.settings.output_dir}"
        service.run_parser(parser, inputs, RunOptions(sink_uri=sink))
        with pytest.raises(ParserNotRegisteredError, match="register it"):
            await service.replay.plan()
    await register(home, FIXED)

    async with CoreService(home.settings) as service:
        plan = await service.replay.plan()
        outcome = await service.replay.run(plan, offline=True)
        ids = await valid_ids(service)
        left = await open_entries(service)

    assert [f.input_key for f in plan.files] == ["a.csv", "c.csv"]  # as the dev run keyed them
    assert [f.from_job_id is not None for f in plan.files] == [True, True]
    assert (outcome.resolved, outcome.still_quarantined) == (2, 1)
    assert ids == Counter({(1, 10): 1, (2, 0): 1, (4, 40): 1, (1, 5): 1, (2, 6): 1, (1, 0): 1})
    assert left == [("a.csv", 2, "prices@2.0.0")]


async def test_an_unknown_job_or_parser_is_a_clear_error(locked: Fixture) -> None:
    home = await prepare(locked)

    async with CoreService(home.settings) as service:
        with pytest.raises(JobNotFoundError, match="casparian jobs"):
            await service.replay.plan(job_id="0" * 32)
        with pytest.raises(ParserNotRegisteredError, match="nosuch"):
            await service.replay.plan(parser="nosuch")
