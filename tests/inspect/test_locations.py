"""Where jobs wrote outputs (`cf_output_locations`): kept by a trigger as jobs complete, filled
from the jobs done before the migration that made it."""

from __future__ import annotations

import json
from pathlib import Path

from casparian_core.db.connection import connect
from casparian_core.db.schema import MIGRATIONS
from casparian_core.inspect.locations import output_locations
from casparian_core.service import CoreService
from tests.inspect.sinks_support import record_job
from tests.old_schema import connect_at_version


async def test_each_completed_job_records_where_it_wrote(service: CoreService) -> None:
    first = await record_job(service, {"sales": "/s/a.duckdb (table sales)", "o": "/p/o"})
    later = await record_job(service, {"sales": "/s/a.duckdb (table sales)"}, minutes=5)

    found = await service.db.read(output_locations)

    assert found == {"/s/a.duckdb (table sales)": later, "/p/o": first}


def test_jobs_done_before_the_migration_are_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "cf.sqlite3"
    before = next(n for n, script in enumerate(MIGRATIONS) if "cf_output_locations" in script)
    old = connect_at_version(path, before)
    for job, at, outputs in (
        ("j1", "2026-01-01T00:00:00Z", {"a": {"location": "/x/a", "rows": 1}}),
        ("j2", "2026-01-02T00:00:00Z", {"a": {"location": "/x/a"}, "b": {"rows": 2}}),
        ("j3", None, None),  # a job that never completed
    ):
        old.execute(
            "INSERT INTO cf_processing_queue (id, parser_name, parser_version, input_path,"
            " status, enqueued_at, next_attempt_at, finished_at, outputs)"
            " VALUES (?, 'p', '1', ?, 'COMPLETED', 't', 't', ?, ?)",
            (job, f"/in/{job}", at, json.dumps(outputs) if outputs else None),
        )
    old.commit()
    old.close()

    conn = connect(path)

    assert output_locations(conn) == {"/x/a": "j2"}
