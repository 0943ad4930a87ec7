import sqlite3
from pathlib import Path

import pytest

from casparian_core.db.connection import (
    WAL_CHECKPOINT_PAGES,
    WAL_SIZE_LIMIT_BYTES,
    connect,
    path_index_file,
    schema_version,
)
from casparian_core.db.schema import LATEST_VERSION, MIGRATIONS
from casparian_core.errors import DatabaseCorruptError, SchemaTooNewError
from casparian_core.jobs import health, queue
from casparian_core.jobs.model import JobRequest
from tests.conftest import FIXED_NOW
from tests.old_schema import connect_at_version

# The tables of the features that exist; each later feature creates its own in its migration.
FEATURE_TABLES = {"scout_sources", "scout_files", "scout_tagging_rules", "cf_parser_tests"}
# Made by the migrations after 3, each feature's own.
AI_TABLES = {"cf_ai_requests", "cf_ai_actions"}
REGISTRY_TABLES = {"cf_parsers", "cf_parser_topics", "cf_contracts"}
QUEUE_TABLES = {
    "cf_processing_queue",
    "cf_dead_letter",
    "cf_parser_health",
    "cf_processing_history",
    "cf_errors",
    "cf_error_occurrences",
    "cf_runs",
    "cf_run_parsers",
}
INSPECT_TABLES = {"cf_output_locations"}
REPLAY_TABLES = {"cf_quarantine_resolutions"}  # migration 11: the quarantine audit trail
BACKFILL_TABLES = {"cf_backfills"}  # migration 12
LATEST_TABLES = (
    FEATURE_TABLES
    | AI_TABLES
    | REGISTRY_TABLES
    | QUEUE_TABLES
    | INSPECT_TABLES
    | REPLAY_TABLES
    | BACKFILL_TABLES
)
# Made by migration 1 ahead of their features, dropped by migration 3.
UNUSED_TABLES = {
    "cf_parsers",
    "cf_parser_topics",
    "cf_contracts",
    "cf_processing_queue",
    "cf_processing_history",
    "cf_dead_letter",
    "cf_parser_health",
    "cf_quarantine",
    "cf_errors",
    "cf_error_occurrences",
}


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type='table'")}


def test_new_database_gets_the_features_tables_and_the_latest_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "cf.sqlite3")
    assert tables(conn) == LATEST_TABLES
    assert schema_version(conn) == LATEST_VERSION == len(MIGRATIONS)


def test_version_2_loses_the_unused_tables_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "cf.sqlite3"
    old = connect_at_version(path, 2)
    assert tables(old) == FEATURE_TABLES | UNUSED_TABLES
    old.execute("INSERT INTO scout_sources (name, path, created_at) VALUES ('s', '/s', 't')")
    old.execute(
        "INSERT INTO cf_parser_tests (parser_name, parser_path, input_path, status,"
        " tested_at) VALUES ('p', '/p.py', '/s/a', 'COMPLETED', 't')"
    )
    old.close()

    conn = connect(path)

    assert tables(conn) == LATEST_TABLES
    assert conn.execute("SELECT name FROM scout_sources").fetchall() == [("s",)]
    assert conn.execute("SELECT count(*) FROM cf_parser_tests").fetchone() == (1,)


def test_connection_pragmas(tmp_path: Path) -> None:
    conn = connect(tmp_path / "cf.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert conn.execute("PRAGMA journal_size_limit").fetchone()[0] == WAL_SIZE_LIMIT_BYTES
    # Statement journals stay in memory: spilled to /var/tmp, each enqueued job wrote 16 pages.
    assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    # Checkpoints (two fsyncs each) every 10,000 pages, not SQLite's 1,000.
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_CHECKPOINT_PAGES


def test_reopening_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "cf.sqlite3"
    conn = connect(path)
    conn.execute(
        "INSERT INTO scout_sources (name, path, created_at) VALUES ('s', '/data', '2026-01-01')"
    )
    conn.close()
    again = connect(path)
    assert again.execute("SELECT name FROM scout_sources").fetchall() == [("s",)]


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    conn = connect(tmp_path / "cf.sqlite3")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status,"
            " first_seen, last_seen) VALUES (999, '/x', 'x', 1, 1, 'new', 't', 't')"
        )


def test_a_failed_migration_leaves_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cf.sqlite3"
    connect(path).close()
    broken = (*MIGRATIONS, "CREATE TABLE later (id INTEGER);\nTHIS IS NOT SQL;")
    monkeypatch.setattr("casparian_core.db.connection.MIGRATIONS", broken)
    monkeypatch.setattr("casparian_core.db.connection.LATEST_VERSION", len(broken))
    with pytest.raises(sqlite3.OperationalError):
        connect(path)
    check = sqlite3.connect(path)
    assert schema_version(check) == len(MIGRATIONS)
    names = {r[0] for r in check.execute("SELECT name FROM sqlite_master")}
    assert "later" not in names  # the half-applied migration was rolled back


def test_newer_schema_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "cf.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    raw.close()
    with pytest.raises(SchemaTooNewError, match="newer Casparian Flow"):
        connect(path)
    assert schema_version(sqlite3.connect(path)) == LATEST_VERSION + 5


def test_corrupt_file_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "cf.sqlite3"
    garbage = b"this is not a database at all " * 200
    path.write_bytes(garbage)
    with pytest.raises(DatabaseCorruptError, match=str(path)):
        connect(path)
    assert path.read_bytes() == garbage


def test_version_1_s_trigram_index_moves_to_the_path_index_file(tmp_path: Path) -> None:
    path = tmp_path / "cf.sqlite3"
    old = connect_at_version(path, 1)
    old.execute("INSERT INTO scout_sources (name, path, created_at) VALUES ('s', '/s', 't')")
    old.execute(
        "INSERT INTO scout_files (source_id, path, rel_path, size, mtime_ns, status,"
        " first_seen, last_seen) VALUES (1, '/s/a', 'a', 1, 1, 'new', 't', 't')"
    )
    old.close()

    conn = connect(path)

    names = {r[0] for r in conn.execute("SELECT name FROM main.sqlite_master")}
    assert not {"scout_files_text", "scout_files_text_mark"} & names
    assert path_index_file(path).exists()
    # Empty until the next scan fills it: every row counts as not indexed yet.
    assert conn.execute("SELECT * FROM path_index.scout_files_text_mark").fetchall() == [
        (0, None, None)
    ]
    assert conn.execute("SELECT rel_path FROM scout_files").fetchall() == [("a",)]


def test_version_16_counts_a_parsers_executions_from_its_history_and_failures(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cf.sqlite3"
    old = connect_at_version(path, 15)
    old.execute(
        "INSERT INTO cf_parser_health (parser_name, consecutive_failures, total_executions,"
        " total_failures) VALUES ('sales', 1, 3, 1)"
    )
    old.executemany(
        "INSERT INTO cf_processing_history (job_id, input_path, parser_name, parser_version,"
        " status, rows_out, rows_quarantined, processed_at)"
        " VALUES (?, ?, 'sales', '1.0.0', 'COMPLETED', 5, 0, 't')",
        [("a" * 32, "/d/a.csv"), ("b" * 32, "/d/b.csv")],
    )
    # A finished job without an end time (none is known): it must not count as active.
    old.execute(
        "INSERT INTO cf_processing_queue (id, parser_name, parser_version, input_path,"
        " status, enqueued_at, next_attempt_at, started_at)"
        " VALUES (?, 'sales', '1.0.0', '/d/a.csv', 'COMPLETED', 't0', 't0', 't1')",
        ("a" * 32,),
    )
    old.close()

    conn = connect(path)

    [sales] = health.health(conn)
    assert (sales.total_executions, sales.total_failures, sales.consecutive_failures) == (3, 1, 1)
    [again] = queue.enqueue(conn, [JobRequest("sales", "1.0.0", "/d/a.csv")], FIXED_NOW)
    assert again.created
    assert queue.job(conn, "a" * 32).job.finished_at == "t1"
