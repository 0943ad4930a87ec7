"""`casparian backfill --execute`: real registered versions, real guests, the real queue, real
Parquet folders, SQLite and DuckDB files. The output changes only by the swap, whole."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from casparian_core.api import BackfillStatus
from casparian_core.backfill.errors import BackfillActiveError, BackfillRefusedError
from casparian_core.jobs.model import JobQuery
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.status import JobStatus
from casparian_core.service import CoreService
from tests.backfill.support import FILES, SAME, WIDER, cli, cli_json, processed_home, write
from tests.inspect.replay_support import SOURCE, TOPIC, Home, register
from tests.output_parts import part_rows
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # the fixture, used by name


def versions(table_rows: list[dict[str, object]]) -> set[object]:
    return {row["_cf_parser_version"] for row in table_rows}


def folder(home: Home, output: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = pq.read_table(home.settings.output_dir / output).to_pylist()
    return rows


async def test_a_backfill_with_new_columns_replaces_every_output_whole(locked: Fixture) -> None:
    home = await processed_home(locked)
    await register(home, WIDER)

    result = cli_json(home, "prices", "--execute", "--offline")

    assert result["status"] == "DONE", result
    assert sorted(result["swapped"]) == ["prices", "totals"]  # type: ignore[arg-type]
    prices = folder(home, "prices")
    assert versions(prices) == {"2.0.0"} and len(prices) == 5
    assert {row["note"] for row in prices} == {"v2.0.0"}
    schema = pq.read_table(home.settings.output_dir / "prices").schema
    assert schema.field("amount").type == "double"
    assert versions(folder(home, "totals")) == {"2.0.0"}
    async with CoreService(home.settings) as service:
        jobs = await service.queue.run_jobs(str(result["id"]))  # one run in the Jobs screen
        record = await service.backfill.backfill(str(result["id"]))
        after = await service.backfill.plan("prices")
    assert {job.status for job in jobs} == {JobStatus.COMPLETED} and len(jobs) == 3
    # Lineage: every row names the backfill job (and version) that produced it.
    assert {row["_cf_job_id"] for row in prices} == {job.job_id for job in jobs}
    assert record.status == BackfillStatus.DONE and record.swapped_at is not None
    assert after.files == [] and after.up_to_date == 3  # history: 2.0.0 processed them all
    assert not (home.settings.output_dir / ".staging" / f"backfill-{result['id']}").exists()
    assert not list(home.settings.output_dir.glob("*/.casparian-backfill"))


async def test_worker_processes_of_a_backfill_claim_only_its_jobs(locked: Fixture) -> None:
    # A new file's job is queued (not run) beside the backfill: the backfill's worker processes
    # must leave it to `process` or the daemon, which write the live output, not the staging.
    home = await processed_home(locked)
    write(home.data, {"d.csv": ["1,7"]})
    async with CoreService(home.settings) as service:
        await service.scout.scan(home.data, name=SOURCE, tag=TOPIC)
        batch = await service.processing(ProcessRequest(workers=1, offline=True)).prepare()
    await register(home, SAME)

    result = cli_json(home, "prices", "--execute", "--offline", "--workers", "3")

    assert result["status"] == "DONE", result
    assert versions(folder(home, "prices")) == {"2.0.0"}
    async with CoreService(home.settings) as service:
        [left] = await service.queue.jobs(JobQuery(batch_id=batch.batch_id))
    assert left.input_path.endswith("d.csv")
    assert left.status == JobStatus.QUEUED and left.attempts == 0


async def test_a_trial_on_one_file_keeps_the_other_files_rows(locked: Fixture) -> None:
    home = await processed_home(locked)
    await register(home, SAME)

    result = cli_json(home, "prices", "--execute", "--offline", "--limit", "1")

    assert result["status"] == "DONE", result
    prices = folder(home, "prices")
    by_version = Counter(row["_cf_parser_version"] for row in prices)
    assert sum(by_version.values()) == 5  # no row lost, none doubled
    assert set(by_version) == {"1.0.0", "2.0.0"}
    assert sum(1 for row in folder(home, "totals") if row["_cf_parser_version"] == "2.0.0") == 1


@pytest.mark.parametrize("scheme", ["sqlite", "duckdb"])
async def test_database_sinks_swap_every_table_in_one_transaction(
    locked: Fixture, scheme: str, tmp_path: Path
) -> None:
    database = tmp_path / f"out.{scheme}"
    uri = f"{scheme}:///{database}"
    home = await processed_home(locked, sink_uri=uri)
    await register(home, WIDER)

    result = cli_json(home, "prices", "--execute", "--offline", "--sink", uri)

    assert result["status"] == "DONE", result
    connection = sqlite3.connect(database) if scheme == "sqlite" else duckdb.connect(str(database))
    try:
        rows = connection.execute(
            'SELECT DISTINCT _cf_parser_version, note FROM "prices"'
        ).fetchall()
        count = connection.execute('SELECT count(*) FROM "prices"').fetchone()
        parts = connection.execute(
            "SELECT DISTINCT parser_version FROM _cf_parts WHERE output = 'prices'"
        ).fetchall()
    finally:
        connection.close()
    assert rows == [("2.0.0", "v2.0.0")]
    assert count == (5,)
    assert parts == [("2.0.0",)]
    assert not Path(f"{database}.backfill-{result['id']}").exists()


async def test_a_failing_file_blocks_the_swap_until_retried_and_resumed(locked: Fixture) -> None:
    home = await processed_home(locked)
    await register(home, WIDER)
    good = (home.data / "b.csv").read_text()
    write(home.data, {"b.csv": ["BROKEN"]})
    before = folder(home, "prices")

    blocked = cli(home, "prices", "--execute", "--offline", "--json")
    outcome = json.loads(blocked.stdout)
    after_failure = folder(home, "prices")
    (home.data / "b.csv").write_text(good)
    [failed] = outcome["failed"]
    async with CoreService(home.settings) as service:
        await service.queue.retry(failed["job_id"])
    resumed = cli_json(home, "--resume", str(outcome["id"]), "--offline")

    assert blocked.returncode == 1
    assert outcome["status"] == "STAGING" and outcome["swapped"] == []
    assert failed["input"].endswith("b.csv") and failed["status"] == "FAILED"
    assert "b.csv" in outcome["note"]
    assert after_failure == before  # the old output, untouched
    assert resumed["status"] == "DONE", resumed
    assert versions(folder(home, "prices")) == {"2.0.0"}
    assert len(folder(home, "prices")) == 5


async def test_a_second_backfill_of_the_parser_is_refused(locked: Fixture) -> None:
    home = await processed_home(locked)
    await register(home, WIDER)
    async with CoreService(home.settings) as service:
        plan = await service.backfill.plan("prices")
        runner = service.backfill.runner(offline=True)
        first = await runner.start(plan)  # this process owns it
        with pytest.raises(BackfillActiveError, match=first.id):
            await service.backfill.runner(offline=True).start(plan)
        refused = cli(home, "prices", "--execute", "--offline")
        taken = cli(home, "--resume", first.id, "--offline")
        outcome = await runner.drive(first)

    assert refused.returncode == 2 and first.id in refused.stderr
    assert taken.returncode == 2 and f"being run by process {os.getpid()}" in taken.stderr
    assert outcome.done
    assert versions(folder(home, "prices")) == {"2.0.0"}


async def test_a_limited_backfill_with_new_columns_is_refused_before_anything_runs(
    locked: Fixture,
) -> None:
    home = await processed_home(locked)
    await register(home, WIDER)
    async with CoreService(home.settings) as service:
        plan = await service.backfill.plan("prices", limit=1)
        with pytest.raises(BackfillRefusedError, match="two schemas"):
            await service.backfill.runner().start(plan)
        assert await service.backfill.backfills() == []
    assert versions(folder(home, "prices")) == {"1.0.0"}
    assert sorted(FILES)  # the three files stay as 1.0.0 made them


async def test_abandoning_removes_the_staging_area_and_leaves_the_output(locked: Fixture) -> None:
    home = await processed_home(locked)
    await register(home, WIDER)
    write(home.data, {"b.csv": ["BROKEN"]})
    before = folder(home, "prices")
    blocked = json.loads(cli(home, "prices", "--execute", "--offline", "--json").stdout)
    staged = home.settings.output_dir / ".staging" / f"backfill-{blocked['id']}"
    staged_parts = part_rows(staged / "prices")

    abandoned = cli_json(home, "--abandon", str(blocked["id"]))
    again = cli(home, "--abandon", str(blocked["id"]))
    listed = cli_json(home, "--list")
    plan = cli_json(home, "prices")

    assert len(staged_parts) == 2  # a.csv and c.csv were staged
    assert abandoned["status"] == "ABANDONED"
    assert not staged.exists()
    assert folder(home, "prices") == before
    assert again.returncode == 2 and "abandoned" in again.stderr
    assert [b["status"] for b in listed["backfills"]] == ["ABANDONED"]  # type: ignore[index]
    assert len(plan["files"]) == 3  # type: ignore[arg-type]  # its jobs' history does not count
