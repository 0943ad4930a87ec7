import asyncio
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from casparian_core.api import JobRequest
from casparian_core.config import Settings
from casparian_core.events import DataChanged, Event
from casparian_core.service import CoreService
from tests.conftest import fixed_clock


async def test_empty_home_has_empty_stats(service: CoreService) -> None:
    stats = await service.stats()
    assert stats.is_empty
    assert stats.jobs == {}
    assert stats.discover_summary() == "0 files, 0 sources"


async def test_stats_count_what_the_home_holds(settings: Settings) -> None:
    async with CoreService(settings, clock=fixed_clock) as service:
        conn = sqlite3.connect(settings.database_path)
        conn.executescript(
            """
            INSERT INTO scout_sources (id, name, path, created_at) VALUES (1, 's', '/s', 't');
            INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status, tag,
                first_seen, last_seen) VALUES
                (1, '/s/a', 'a', 1, 1, 'new', 'sales', 't', 't'),
                (1, '/s/b', 'b', 1, 1, 'new', NULL, 't', 't'),
                (1, '/s/c', 'c', 1, 1, 'missing', 'sales', 't', 't');
            INSERT INTO cf_parser_tests (parser_name, parser_path, input_path, status, tested_at)
                VALUES ('p', '/p.py', '/s/a', 'COMPLETED', '2026-11-27T11:00:00.000000Z'),
                       ('p', '/p.py', '/s/a', 'FAILED', '2026-11-20T11:00:00.000000Z');
            """
        )
        conn.close()
        (settings.parsers_dir / "one.py").write_text("def parse(path):\n    return []\n")
        (settings.parsers_dir / "_helper.py").write_text("")
        table_dir = settings.output_dir / "sales"
        table_dir.mkdir()
        pq.write_table(pa.table({"x": list(range(1500))}), table_dir / "part-a.parquet")
        quarantine_dir = settings.output_dir / "sales_quarantine"
        quarantine_dir.mkdir()
        pq.write_table(pa.table({"x": [1, 2]}), quarantine_dir / "part-a.parquet")
        (settings.output_dir / ".staging").mkdir()
        made = await service.queue.enqueue(
            [JobRequest("p", "1.0.0", "/s/a"), JobRequest("p", "1.0.0", "/s/b")]
        )
        await service.queue.cancel(made[1].job_id)

        stats = await service.stats()

    assert (stats.files, stats.sources, stats.tags, stats.untagged_files) == (2, 1, 1, 1)
    assert stats.parsers == 1
    assert stats.recent_tests == 1  # the week-old test is not recent
    assert (stats.tables, stats.rows, stats.quarantined_rows) == (1, 1500, 2)
    assert stats.jobs == {"QUEUED": 1, "CANCELLED": 1}
    assert stats.jobs_summary() == "1 pending, 1 cancelled"
    assert stats.inspect_summary() == "1 table, 1.5K rows"
    assert not stats.is_empty


async def test_commits_by_another_process_publish_data_changed(home: Path) -> None:
    from casparian_core.config import load_settings

    settings = load_settings(env={"CASPARIAN_CHANGE_POLL_SECS": "0.05"}, home=home)
    received: list[Event] = []
    async with CoreService(settings) as service:
        service.subscribe(received.append)
        conn = sqlite3.connect(settings.database_path)
        conn.execute("INSERT INTO scout_sources (name, path, created_at) VALUES ('s', '/s', 't')")
        conn.commit()
        conn.close()
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
    assert received
    assert set(received) == {DataChanged(origin="another process")}


async def test_unsubscribe_stops_delivery(service: CoreService) -> None:
    received: list[Event] = []
    unsubscribe = service.subscribe(received.append)
    service.events.publish(DataChanged(origin="test"))
    unsubscribe()
    service.events.publish(DataChanged(origin="test"))
    assert received == [DataChanged(origin="test")]


async def test_stats_without_outputs_leave_tables_uncounted(settings: Settings) -> None:
    async with CoreService(settings, clock=fixed_clock) as service:
        table_dir = settings.output_dir / "sales"
        table_dir.mkdir()
        pq.write_table(pa.table({"x": [1, 2, 3]}), table_dir / "part-a.parquet")
        quick = await service.stats(count_outputs=False)
        full = await service.stats()
    assert (quick.tables, quick.rows, quick.quarantined_rows) == (None, None, None)
    assert quick.inspect_summary() == "counting tables…"
    assert quick.is_empty  # an uncounted table does not make the home look used yet
    assert full.inspect_summary() == "1 table, 3 rows"
