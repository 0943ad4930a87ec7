"""CoreService.bench: parser list with health, tests recorded and announced, candidate files."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pyarrow.parquet as pq

from casparian_core.engine.bench import Candidate
from casparian_core.engine.results import RunStatus
from casparian_core.errors import ErrorCode
from casparian_core.events import DataChanged, Event
from casparian_core.service import CoreService

REPO = Path(__file__).resolve().parents[2]
SALES_SAMPLE = REPO / "examples" / "sales" / "sales_2026_q1.csv"


def install(service: CoreService, *names: str) -> list[Path]:
    paths = []
    for name in names:
        paths.append(service.settings.parsers_dir / name)
        shutil.copy(REPO / "parsers" / name, paths[-1])
    return paths


async def test_list_test_and_health(service: CoreService) -> None:
    [sales] = install(service, "sales_csv.py")
    (service.settings.parsers_dir / "broken.py").write_text("def parse(path)\n")
    events: list[Event] = []
    service.subscribe(events.append)

    before = {parser.name: parser.health for parser in await service.bench.list_parsers()}
    assert before == {"sales_csv": "never", "broken": "failed"}

    result = await service.bench.test_parser(sales, SALES_SAMPLE)

    assert result.status == RunStatus.COMPLETED_WITH_WARNINGS
    [output] = result.outputs
    assert output.location == str(service.settings.output_dir / output.name)
    assert pq.read_table(service.settings.output_dir / output.name).num_rows == output.rows
    assert DataChanged(origin="parser_bench") in events
    after = {parser.name: parser.health for parser in await service.bench.list_parsers()}
    assert after["sales_csv"] == "warn"
    [test] = await service.bench.recent_tests("sales_csv")
    assert (test.status, test.rows_out, test.rows_quarantined) == (
        RunStatus.COMPLETED_WITH_WARNINGS,
        output.rows,
        output.quarantined,
    )
    assert test.input_path == str(SALES_SAMPLE) and test.parser_path == str(sales)
    assert (await service.stats()).recent_tests == 1

    # Testing again always runs (no "already done" skip) and becomes the latest health.
    (service.settings.parsers_dir / "sales_csv.py").write_text(
        sales.read_text().replace("def parse(self, ctx):", "def parse(self, ctx):\n        1 / 0")
    )
    again = await service.bench.test_parser(sales, SALES_SAMPLE)
    assert again.status == RunStatus.FAILED and again.error_code == ErrorCode.UNKNOWN_ERROR
    assert {p.name: p.health for p in await service.bench.list_parsers()}["sales_csv"] == "failed"
    assert [t.status for t in await service.bench.recent_tests("sales_csv")] == [
        RunStatus.FAILED,
        RunStatus.COMPLETED_WITH_WARNINGS,
    ]


async def test_stats_count_parsers_found_by_discovery(service: CoreService) -> None:
    install(service, "sales_csv.py", "auth_log.py")
    (service.settings.parsers_dir / "_helper.py").write_text("x = 1\n")
    assert (await service.stats()).parsers == 2


async def test_candidate_files_topic_first_previously_failed_first(service: CoreService) -> None:
    [sales] = install(service, "sales_csv.py")
    conn = sqlite3.connect(service.settings.database_path)
    conn.executescript(
        """
        INSERT INTO scout_sources (id, name, path, created_at) VALUES (1, 's', '/s', 't');
        INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status, tag,
            first_seen, last_seen) VALUES
            (1, '/s/other.log', 'other.log', 1, 1, 'new', 'linux_auth', 't', 't'),
            (1, '/s/a.csv', 'a.csv', 1, 1, 'new', 'sales', 't', 't'),
            (1, '/s/b.csv', 'b.csv', 1, 1, 'new', 'sales', 't', 't'),
            (1, '/s/gone.csv', 'gone.csv', 1, 1, 'missing', 'sales', 't', 't'),
            (1, '/s/untagged', 'untagged', 1, 1, 'new', NULL, 't', 't');
        INSERT INTO cf_parser_tests (parser_name, parser_path, input_path, status, tested_at)
            VALUES ('sales_csv', '/p.py', '/s/b.csv', 'FAILED', 't');
        """
    )
    conn.close()

    candidates = await service.bench.candidate_files(sales)

    assert candidates[:2] == [
        Candidate(Path("/s/b.csv"), topic_bound=True, failed_before=True),
        Candidate(Path("/s/a.csv"), topic_bound=True, failed_before=False),
    ]
    assert {c.path for c in candidates[2:]} == {Path("/s/other.log"), Path("/s/untagged")}
    assert not any(c.topic_bound or c.failed_before for c in candidates[2:])
    assert len(await service.bench.candidate_files(sales, limit=1)) == 1


async def test_cancelled_before_the_run_starts_records_nothing(service: CoreService) -> None:
    [sales] = install(service, "sales_csv.py")
    cancel = threading.Event()
    cancel.set()
    result = await service.bench.test_parser(sales, SALES_SAMPLE, cancel=cancel)
    assert (result.status, result.parser_name) == (RunStatus.CANCELLED, "sales_csv")
    assert await service.bench.recent_tests("sales_csv") == []


PID_PARSER = "import os\ndef parse(path):\n    return [{'pid': os.getpid(), 'version': VERSION}]\n"


async def test_re_runs_use_a_warm_guest_until_the_parser_file_changes(
    service: CoreService, tmp_path: Path
) -> None:
    parser = service.settings.parsers_dir / "pids.py"
    parser.write_text(PID_PARSER.replace("VERSION", "1"))
    data = tmp_path / "data.txt"
    data.write_text("x")

    async def pid_and_version() -> tuple[int, int]:
        result = await service.bench.test_parser(parser, data)
        assert result.status == RunStatus.COMPLETED
        [row] = pq.read_table(service.settings.output_dir / "pids").to_pylist()
        return row["pid"], row["version"]

    first = await pid_and_version()
    again = await pid_and_version()
    parser.write_text(PID_PARSER.replace("VERSION", "22"))  # the file changed: a new guest
    changed = await pid_and_version()
    assert first[1] == again[1] == 1 and changed[1] == 22
    assert first[0] == again[0] != changed[0]


async def test_a_failed_candidate_comes_first_even_past_the_limit(service: CoreService) -> None:
    [sales] = install(service, "sales_csv.py")
    conn = sqlite3.connect(service.settings.database_path)
    conn.execute(
        "INSERT INTO scout_sources (id, name, path, created_at) VALUES (1, 's', '/s', 't')"
    )
    conn.executemany(
        "INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status, tag,"
        " first_seen, last_seen) VALUES (1, ?, ?, 1, 1, 'new', 'sales', 't', 't')",
        [(f"/s/{n:03}.csv", f"{n:03}.csv") for n in range(50)],
    )
    conn.execute(
        "INSERT INTO cf_parser_tests (parser_name, parser_path, input_path, status, tested_at)"
        " VALUES ('sales_csv', '/p.py', '/s/049.csv', 'FAILED', 't')"
    )
    conn.commit()
    conn.close()

    candidates = await service.bench.candidate_files(sales, limit=3)

    assert candidates == [
        Candidate(Path("/s/049.csv"), topic_bound=True, failed_before=True),
        Candidate(Path("/s/000.csv"), topic_bound=True, failed_before=False),
        Candidate(Path("/s/001.csv"), topic_bound=True, failed_before=False),
    ]
