"""The control-plane schema as numbered migrations.

`MIGRATIONS[i]` upgrades a database from `PRAGMA user_version` i to i + 1. Migrations only ever
move forward and are never edited once released: a change to the schema is a new entry.
Timestamps are ISO-8601 UTC text (`2026-11-27T12:00:00.000000Z`), so they sort as text.
"""

from __future__ import annotations

MIGRATION_1 = """
CREATE TABLE scout_sources (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    source_type        TEXT NOT NULL DEFAULT 'local',
    path               TEXT NOT NULL UNIQUE,
    poll_interval_secs INTEGER,
    enabled            INTEGER NOT NULL DEFAULT 1,
    watch              INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    last_scan_at       TEXT
);

CREATE TABLE scout_tagging_rules (
    id         INTEGER PRIMARY KEY,
    name       TEXT,
    source_id  INTEGER REFERENCES scout_sources(id) ON DELETE CASCADE,
    pattern    TEXT NOT NULL,
    tag        TEXT NOT NULL,
    priority   INTEGER NOT NULL DEFAULT 0,
    enabled    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

-- One row per file ever seen. Rows are never deleted by scans: a file gone from disk becomes
-- status 'missing', so the catalogue stays an audit trail. Status says what the latest scan
-- found: 'new', 'changed', 'unchanged' or 'missing'.
-- `path` and `rel_path` are display text; a name that is not valid UTF-8 shows its bad bytes as
-- backslash-x escapes there, and `path_bytes` keeps the real path (NULL when the text is exact).
CREATE TABLE scout_files (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES scout_sources(id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    path_bytes   BLOB,
    rel_path     TEXT NOT NULL,
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    content_hash TEXT,
    kind         TEXT,
    status       TEXT NOT NULL,
    tag          TEXT,
    tag_source   TEXT CHECK (tag_source IN ('rule', 'manual') OR tag_source IS NULL),
    rule_id      INTEGER REFERENCES scout_tagging_rules(id) ON DELETE SET NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    UNIQUE (source_id, rel_path)
);
-- Paged listings: by source (the UNIQUE index above) or by tag, both in rel_path order.
CREATE INDEX scout_files_tag ON scout_files(tag, source_id, rel_path);
-- Missing files are few: counts of present files subtract them instead of reading every row.
CREATE INDEX scout_files_missing ON scout_files(source_id, tag) WHERE status = 'missing';
CREATE INDEX scout_files_rule ON scout_files(rule_id) WHERE rule_id IS NOT NULL;
-- Substring and glob filters: a trigram index over rel_path, filled in bulk after each scan
-- (scout/text_index.py); rows with id above `indexed_upto` are not in it yet.
CREATE VIRTUAL TABLE scout_files_text USING fts5(
    rel_path, content='scout_files', content_rowid='id', tokenize='trigram'
);
CREATE TABLE scout_files_text_mark (indexed_upto INTEGER NOT NULL);
INSERT INTO scout_files_text_mark VALUES (0);

CREATE TABLE cf_parsers (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    source_hash   TEXT NOT NULL,
    source_code   TEXT,
    artifact      BLOB,
    lock_hash     TEXT,
    registered_at TEXT NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE cf_parser_topics (
    parser_id TEXT NOT NULL REFERENCES cf_parsers(id) ON DELETE CASCADE,
    topic     TEXT NOT NULL,
    PRIMARY KEY (parser_id, topic)
);
CREATE INDEX cf_parser_topics_topic ON cf_parser_topics(topic);

-- An approved output schema of one parser version. Never updated: a new version, a new row.
CREATE TABLE cf_contracts (
    id             INTEGER PRIMARY KEY,
    parser_name    TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    output_name    TEXT NOT NULL,
    schema_json    TEXT NOT NULL,
    schema_hash    TEXT NOT NULL,
    approved_at    TEXT NOT NULL,
    approved_by    TEXT NOT NULL,
    UNIQUE (parser_name, parser_version, output_name)
);

CREATE TABLE cf_processing_queue (
    id               INTEGER PRIMARY KEY,
    parser_name      TEXT NOT NULL,
    parser_version   TEXT NOT NULL,
    file_id          INTEGER REFERENCES scout_files(id) ON DELETE SET NULL,
    input_path       TEXT NOT NULL,
    input_hash       TEXT,
    status           TEXT NOT NULL DEFAULT 'QUEUED',
    priority         INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    claimed_by       TEXT,
    heartbeat_at     TEXT,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    error_code       TEXT,
    error_message    TEXT,
    rows_out         INTEGER,
    rows_quarantined INTEGER,
    batch_id         TEXT
);
CREATE INDEX cf_queue_claimable ON cf_processing_queue(priority DESC, id) WHERE status = 'QUEUED';
CREATE INDEX cf_queue_status ON cf_processing_queue(status);

CREATE TABLE cf_processing_history (
    input_hash     TEXT NOT NULL,
    parser_name    TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    processed_at   TEXT NOT NULL,
    job_id         INTEGER,
    PRIMARY KEY (input_hash, parser_name, parser_version)
);

CREATE TABLE cf_dead_letter (
    id              INTEGER PRIMARY KEY,
    original_job_id INTEGER NOT NULL,
    plugin_name     TEXT NOT NULL,
    error_message   TEXT,
    retry_count     INTEGER NOT NULL,
    moved_at        TEXT NOT NULL,
    reason          TEXT
);

CREATE TABLE cf_parser_health (
    parser_name          TEXT PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    paused_at            TEXT,
    last_failure_reason  TEXT,
    total_executions     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE cf_quarantine (
    id             INTEGER PRIMARY KEY,
    job_id         INTEGER,
    parser_name    TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    output_name    TEXT NOT NULL,
    source_path    TEXT NOT NULL,
    row_index      INTEGER,
    column_name    TEXT,
    rule           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    row_json       TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX cf_quarantine_job ON cf_quarantine(job_id);

CREATE TABLE cf_errors (
    fingerprint TEXT PRIMARY KEY,
    error_type  TEXT NOT NULL,
    error_code  TEXT NOT NULL,
    message     TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE cf_error_occurrences (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL REFERENCES cf_errors(fingerprint) ON DELETE CASCADE,
    job_id      INTEGER,
    file_path   TEXT,
    occurred_at TEXT NOT NULL
);

-- Parser Bench test runs: what was tested on which file, and how it went.
CREATE TABLE cf_parser_tests (
    id               INTEGER PRIMARY KEY,
    parser_name      TEXT NOT NULL,
    parser_path      TEXT NOT NULL,
    input_path       TEXT NOT NULL,
    status           TEXT NOT NULL,
    error_code       TEXT,
    duration_s       REAL,
    rows_out         INTEGER,
    rows_quarantined INTEGER,
    tested_at        TEXT NOT NULL
);
CREATE INDEX cf_parser_tests_parser ON cf_parser_tests(parser_name, tested_at);
"""

# The trigram index moves to a file of its own (PATH_INDEX below); the next scan fills it, and
# until then every row counts as not indexed yet, so filters stay exact.
MIGRATION_2 = """
DROP TABLE scout_files_text;
DROP TABLE scout_files_text_mark;
"""

# Migration 1 made the tables of features still to come; each feature now creates its tables in
# a migration of its own (docs/architecture.md), so the ones nothing uses yet go. Quarantined
# rows live in each output's `_quarantine` output and "already processed" is answered by the
# sink: there will be no cf_quarantine and no cf_processing_history.
MIGRATION_3 = """
DROP TABLE cf_parser_topics;
DROP TABLE cf_parsers;
DROP TABLE cf_contracts;
DROP TABLE cf_processing_queue;
DROP TABLE cf_processing_history;
DROP TABLE cf_dead_letter;
DROP TABLE cf_parser_health;
DROP TABLE cf_quarantine;
DROP TABLE cf_error_occurrences;
DROP TABLE cf_errors;
"""

# The AI assistant (casparian_core/ai/): every request sent to the model, and the actions it
# proposed for a human to decide.
MIGRATION_4 = """
CREATE TABLE cf_ai_requests (
    id             INTEGER PRIMARY KEY,
    started_at     TEXT NOT NULL,
    model          TEXT NOT NULL,
    mode           TEXT NOT NULL,
    context        TEXT NOT NULL,
    tools_called   TEXT NOT NULL,
    bytes_sent     INTEGER NOT NULL,
    bytes_received INTEGER NOT NULL,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    outcome        TEXT NOT NULL,
    duration_s     REAL NOT NULL
);
CREATE TABLE cf_ai_actions (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    summary    TEXT NOT NULL,
    effect     TEXT NOT NULL,
    payload    TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    outcome    TEXT
);
CREATE INDEX cf_ai_actions_status ON cf_ai_actions(status, created_at);
"""

# The parser registry (registry/): registered artifacts, their topics and approved contracts.
# Rows are never changed or deleted (triggers refuse it): a new version is a new row.
MIGRATION_5 = """
CREATE TABLE cf_parsers (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    version         TEXT NOT NULL,
    artifact        BLOB NOT NULL,
    artifact_sha256 TEXT NOT NULL,
    entry           TEXT NOT NULL,
    lock_hash       TEXT NOT NULL,
    allowances      TEXT NOT NULL,
    registered_from TEXT NOT NULL,
    registered_by   TEXT NOT NULL,
    registered_at   TEXT NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE cf_parser_topics (
    parser_id TEXT NOT NULL REFERENCES cf_parsers(id),
    topic     TEXT NOT NULL,
    PRIMARY KEY (parser_id, topic)
);
CREATE INDEX cf_parser_topics_topic ON cf_parser_topics(topic);

CREATE TABLE cf_contracts (
    id                 INTEGER PRIMARY KEY,
    parser_id          TEXT NOT NULL REFERENCES cf_parsers(id),
    output_name        TEXT NOT NULL,
    schema_json        TEXT NOT NULL,
    schema_hash        TEXT NOT NULL,
    structure          TEXT NOT NULL CHECK (structure = 'freeze'),
    value_mode         TEXT NOT NULL CHECK (value_mode = 'quarantine'),
    max_quarantine_pct REAL,
    approved_by        TEXT NOT NULL,
    approved_at        TEXT NOT NULL,
    UNIQUE (parser_id, output_name)
);

CREATE TRIGGER cf_parsers_immutable BEFORE UPDATE ON cf_parsers
BEGIN SELECT RAISE(ABORT, 'a registered parser version never changes'); END;
CREATE TRIGGER cf_parsers_kept BEFORE DELETE ON cf_parsers
BEGIN SELECT RAISE(ABORT, 'a registered parser version is never deleted'); END;
CREATE TRIGGER cf_parser_topics_immutable BEFORE UPDATE ON cf_parser_topics
BEGIN SELECT RAISE(ABORT, 'a registered parser version never changes'); END;
CREATE TRIGGER cf_parser_topics_kept BEFORE DELETE ON cf_parser_topics
BEGIN SELECT RAISE(ABORT, 'a registered parser version never changes'); END;
CREATE TRIGGER cf_contracts_immutable BEFORE UPDATE ON cf_contracts
BEGIN SELECT RAISE(ABORT, 'an approved contract never changes'); END;
CREATE TRIGGER cf_contracts_kept BEFORE DELETE ON cf_contracts
BEGIN SELECT RAISE(ABORT, 'an approved contract is never deleted'); END;
"""

# The job queue (casparian_core/jobs/): jobs, their dead letters, each parser's health (the
# circuit breaker), the audit trail of what processed which input, and error fingerprints.
# Job ids are uuid4 hex; jobs are never deleted. The partial indexes keep the claim and the
# zombie sweep quick on a queue of a million jobs, most of them long finished.
MIGRATION_6 = """
CREATE TABLE cf_processing_queue (
    id               TEXT PRIMARY KEY,
    parser_name      TEXT NOT NULL,
    parser_version   TEXT NOT NULL,
    input_path       TEXT NOT NULL,
    file_id          INTEGER,
    input_hash       TEXT,
    status           TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    enqueued_at      TEXT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    claimed_by       TEXT,
    heartbeat_at     TEXT,
    started_at       TEXT,
    finished_at      TEXT,
    error_code       TEXT,
    error_message    TEXT,
    traceback        TEXT,
    fingerprint      TEXT,
    rows_out         INTEGER,
    rows_quarantined INTEGER,
    outputs          TEXT,
    batch_id         TEXT
);
CREATE INDEX cf_queue_claim ON cf_processing_queue(
    priority DESC, enqueued_at, next_attempt_at, parser_name
) WHERE status = 'QUEUED';
CREATE UNIQUE INDEX cf_queue_active ON cf_processing_queue(
    input_path, parser_name, parser_version
) WHERE status IN ('QUEUED', 'RUNNING');
CREATE INDEX cf_queue_running ON cf_processing_queue(heartbeat_at) WHERE status = 'RUNNING';
CREATE INDEX cf_queue_status ON cf_processing_queue(status, parser_name);

CREATE TABLE cf_dead_letter (
    id              INTEGER PRIMARY KEY,
    original_job_id TEXT NOT NULL REFERENCES cf_processing_queue(id),
    parser_name     TEXT NOT NULL,
    parser_version  TEXT NOT NULL,
    input_path      TEXT NOT NULL,
    error_code      TEXT,
    error_message   TEXT,
    retry_count     INTEGER NOT NULL,
    reason          TEXT NOT NULL,
    moved_at        TEXT NOT NULL,
    replayed_at     TEXT
);
CREATE INDEX cf_dead_letter_job ON cf_dead_letter(original_job_id);

CREATE TABLE cf_parser_health (
    parser_name          TEXT PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    paused_at            TEXT,
    last_failure_reason  TEXT,
    total_executions     INTEGER NOT NULL DEFAULT 0,
    total_failures       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE cf_processing_history (
    id               INTEGER PRIMARY KEY,
    job_id           TEXT NOT NULL,
    input_path       TEXT NOT NULL,
    input_hash       TEXT,
    parser_name      TEXT NOT NULL,
    parser_version   TEXT NOT NULL,
    status           TEXT NOT NULL,
    rows_out         INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    processed_at     TEXT NOT NULL
);
CREATE INDEX cf_history_parser ON cf_processing_history(parser_name, parser_version);
CREATE INDEX cf_history_input ON cf_processing_history(input_hash);

CREATE TABLE cf_errors (
    fingerprint TEXT PRIMARY KEY,
    error_type  TEXT NOT NULL,
    error_code  TEXT NOT NULL,
    trace       TEXT NOT NULL,
    structure   TEXT NOT NULL,
    message     TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE cf_error_occurrences (
    id             INTEGER PRIMARY KEY,
    fingerprint    TEXT NOT NULL REFERENCES cf_errors(fingerprint),
    job_id         TEXT,
    parser_name    TEXT,
    parser_version TEXT,
    input_path     TEXT,
    message        TEXT,
    occurred_at    TEXT NOT NULL
);
CREATE INDEX cf_error_occurrences_fingerprint ON cf_error_occurrences(fingerprint, occurred_at);
CREATE INDEX cf_error_occurrences_job ON cf_error_occurrences(job_id);
"""

# The Jobs screen reads a run's jobs (cf_processing_queue.batch_id) in queue order.
MIGRATION_7 = """
CREATE INDEX cf_queue_batch ON cf_processing_queue(batch_id, enqueued_at);
"""

# The face that made each audited request: the sidebar's model requests, or an MCP client's
# tool calls (casparian_mcp): `casparian ai log` shows both.
MIGRATION_8 = """
ALTER TABLE cf_ai_requests ADD COLUMN face TEXT NOT NULL DEFAULT 'sidebar';
"""

# The Jobs screen's runs (jobs grouped by batch), kept up to date on every write by triggers:
# grouping a million jobs took ~1 s a refresh. One row per batch ('' for jobs queued outside
# any batch) with a count per job status, and the parsers of each batch. `started_at` is the
# earliest claim of any of its jobs and `finished_at` the latest end, even of a job queued
# again since (the summary only ever moves them outward).
MIGRATION_9 = """
CREATE TABLE cf_runs (
    batch                   TEXT PRIMARY KEY,
    enqueued_at             TEXT NOT NULL,
    started_at              TEXT,
    finished_at             TEXT,
    total                   INTEGER NOT NULL DEFAULT 0,
    queued                  INTEGER NOT NULL DEFAULT 0,
    running                 INTEGER NOT NULL DEFAULT 0,
    completed               INTEGER NOT NULL DEFAULT 0,
    completed_with_warnings INTEGER NOT NULL DEFAULT 0,
    failed                  INTEGER NOT NULL DEFAULT 0,
    dead_letter             INTEGER NOT NULL DEFAULT 0,
    cancelled               INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX cf_runs_order ON cf_runs(enqueued_at);
CREATE TABLE cf_run_parsers (
    batch       TEXT NOT NULL,
    parser_name TEXT NOT NULL,
    PRIMARY KEY (batch, parser_name)
) WITHOUT ROWID;

INSERT INTO cf_runs
SELECT coalesce(batch_id, ''), min(enqueued_at), min(started_at), max(finished_at), count(*),
    sum(status = 'QUEUED'), sum(status = 'RUNNING'), sum(status = 'COMPLETED'),
    sum(status = 'COMPLETED_WITH_WARNINGS'), sum(status = 'FAILED'),
    sum(status = 'DEAD_LETTER'), sum(status = 'CANCELLED')
FROM cf_processing_queue GROUP BY 1;
INSERT INTO cf_run_parsers
SELECT DISTINCT coalesce(batch_id, ''), parser_name FROM cf_processing_queue;

CREATE TRIGGER cf_runs_enqueued AFTER INSERT ON cf_processing_queue
BEGIN
    INSERT INTO cf_runs (batch, enqueued_at, started_at, finished_at, total, queued, running,
        completed, completed_with_warnings, failed, dead_letter, cancelled)
    VALUES (coalesce(NEW.batch_id, ''), NEW.enqueued_at, NEW.started_at, NEW.finished_at, 1,
        NEW.status = 'QUEUED', NEW.status = 'RUNNING', NEW.status = 'COMPLETED',
        NEW.status = 'COMPLETED_WITH_WARNINGS', NEW.status = 'FAILED',
        NEW.status = 'DEAD_LETTER', NEW.status = 'CANCELLED')
    ON CONFLICT (batch) DO UPDATE SET
        enqueued_at = min(enqueued_at, excluded.enqueued_at),
        total = total + 1,
        queued = queued + excluded.queued,
        running = running + excluded.running,
        completed = completed + excluded.completed,
        completed_with_warnings = completed_with_warnings + excluded.completed_with_warnings,
        failed = failed + excluded.failed,
        dead_letter = dead_letter + excluded.dead_letter,
        cancelled = cancelled + excluded.cancelled;
    INSERT OR IGNORE INTO cf_run_parsers VALUES (coalesce(NEW.batch_id, ''), NEW.parser_name);
END;

CREATE TRIGGER cf_runs_changed AFTER UPDATE OF status, started_at, finished_at
ON cf_processing_queue
BEGIN
    UPDATE cf_runs SET
        queued = queued + (NEW.status = 'QUEUED') - (OLD.status = 'QUEUED'),
        running = running + (NEW.status = 'RUNNING') - (OLD.status = 'RUNNING'),
        completed = completed + (NEW.status = 'COMPLETED') - (OLD.status = 'COMPLETED'),
        completed_with_warnings = completed_with_warnings
            + (NEW.status = 'COMPLETED_WITH_WARNINGS')
            - (OLD.status = 'COMPLETED_WITH_WARNINGS'),
        failed = failed + (NEW.status = 'FAILED') - (OLD.status = 'FAILED'),
        dead_letter = dead_letter + (NEW.status = 'DEAD_LETTER') - (OLD.status = 'DEAD_LETTER'),
        cancelled = cancelled + (NEW.status = 'CANCELLED') - (OLD.status = 'CANCELLED'),
        started_at = min(
            coalesce(started_at, NEW.started_at), coalesce(NEW.started_at, started_at)
        ),
        finished_at = max(
            coalesce(finished_at, NEW.finished_at), coalesce(NEW.finished_at, finished_at)
        )
    WHERE batch = coalesce(NEW.batch_id, '');
END;
"""

# Where jobs wrote outputs (each output's location as its sink states it, and the job that
# finished there last): how Inspect finds the sinks besides the home's output folder
# (inspect/locations.py). Kept by a trigger on the job's completion, so it stays one small
# table however long the queue grows (reading the locations out of a million jobs' outputs
# took 16 s), and filled here from the jobs done before.
MIGRATION_10 = """
CREATE TABLE cf_output_locations (
    location    TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL,
    finished_at TEXT
);
INSERT INTO cf_output_locations (location, job_id, finished_at)
SELECT json_extract(o.value, '$.location') AS location, q.id, max(q.finished_at)
FROM cf_processing_queue AS q, json_each(q.outputs) AS o
WHERE json_valid(q.outputs) AND json_extract(o.value, '$.location') IS NOT NULL
GROUP BY location;
CREATE TRIGGER cf_output_locations_kept AFTER UPDATE OF outputs ON cf_processing_queue
WHEN json_valid(NEW.outputs)
BEGIN
    INSERT INTO cf_output_locations (location, job_id, finished_at)
    SELECT json_extract(value, '$.location'), NEW.id, NEW.finished_at
    FROM json_each(NEW.outputs)
    WHERE json_extract(value, '$.location') IS NOT NULL
    ON CONFLICT (location) DO UPDATE SET job_id = excluded.job_id,
        finished_at = excluded.finished_at;
END;
"""

# Quarantine replay (inspect/resolutions.py owns the SQL). A replay job runs its input under
# the key the outputs know it by (a dev run's relative path, a source's "name/rel"), so its
# commit replaces the input's earlier parts. The audit trail keeps each quarantined row a replay
# resolved, as it was while open; a row is pending (resolved_at NULL) from the snapshot taken
# before its file is re-run until the sink shows the re-run committed.
MIGRATION_11 = """
ALTER TABLE cf_processing_queue ADD COLUMN input_key TEXT;

CREATE TABLE cf_quarantine_resolutions (
    entry_id         TEXT PRIMARY KEY,
    output           TEXT NOT NULL,
    part_key         TEXT NOT NULL,
    row_index        INTEGER NOT NULL,
    column_name      TEXT,
    rule             TEXT NOT NULL,
    reason           TEXT NOT NULL,
    source_path      TEXT,
    parser           TEXT,
    parser_version   TEXT,
    job_id           TEXT,
    row_json         TEXT,
    resolved_by      TEXT NOT NULL,
    replayed_at      TEXT NOT NULL,
    resolved_at      TEXT,
    resolved_version TEXT,
    resolved_job_id  TEXT
);
CREATE INDEX cf_quarantine_resolutions_pending ON cf_quarantine_resolutions(output, part_key)
    WHERE resolved_at IS NULL;
CREATE INDEX cf_quarantine_resolutions_resolved ON cf_quarantine_resolutions(resolved_at)
    WHERE resolved_at IS NOT NULL;
"""

# Backfills (casparian_core/backfill/store.py owns the SQL): one row per backfill of a parser
# with its staging area's sink; the queue's jobs of a backfill carry its id, and only its own
# pool claims them (their output goes to the staging area). One active backfill per parser:
# a unique index, so a second is refused by the database, not by a check that could race.
MIGRATION_12 = """
CREATE TABLE cf_backfills (
    id             TEXT PRIMARY KEY,
    parser_name    TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    sink_uri       TEXT NOT NULL,
    staging_uri    TEXT NOT NULL,
    part_keys      TEXT NOT NULL,
    files          INTEGER NOT NULL,
    status         TEXT NOT NULL,
    owner          TEXT,
    created_at     TEXT NOT NULL,
    swapped_at     TEXT,
    finished_at    TEXT,
    note           TEXT
);
CREATE UNIQUE INDEX cf_backfills_active ON cf_backfills(parser_name)
    WHERE status IN ('STAGING', 'SWAPPING');
ALTER TABLE cf_processing_queue ADD COLUMN backfill_id TEXT;
"""

# Quarantine replay in every sink (inspect/resolutions.py): each audit-trail row names the sink
# its quarantined row was in (its URI, as the replay's jobs wrote there) and the output's name
# in that sink (the catalogue may show it with a prefix); NULL for rows of the home's Parquet
# output folder recorded before.
MIGRATION_13 = """
ALTER TABLE cf_quarantine_resolutions ADD COLUMN sink TEXT;
ALTER TABLE cf_quarantine_resolutions ADD COLUMN sink_output TEXT;
"""

# The Dask executor (jobs/dask/): which worker ran a job (its address), on the job and in its
# history row; NULL where the claimer ran it (the local pool: `claimed_by` says which).
MIGRATION_14 = """
ALTER TABLE cf_processing_queue ADD COLUMN ran_on TEXT;
ALTER TABLE cf_processing_history ADD COLUMN ran_on TEXT;
"""

# Jobs carry the sink they were queued for (its canonical URI, sinks.uri.canonical_uri), and a
# pool claims only its own sink's jobs (jobs/queue.py): a `process --sink X` beside a daemon on
# sink Y ran the daemon's jobs into X. One active job per input, parser version and sink (NULL
# counting as one sink: the index would let NULLs repeat). NULL for jobs queued before: any
# pool may claim them, as then.
MIGRATION_15 = """
ALTER TABLE cf_processing_queue ADD COLUMN sink_uri TEXT;
DROP INDEX cf_queue_active;
CREATE UNIQUE INDEX cf_queue_active ON cf_processing_queue(
    input_path, parser_name, parser_version, ifnull(sink_uri, '')
) WHERE status IN ('QUEUED', 'RUNNING');
"""

# The queue's claim and completion write fewer pages (issue 16: claim + complete of one job at
# a time >= 5,000 jobs/s; each page costs ~10 us): counts by status are summed from cf_runs
# (jobs/queue.py COUNTS), so no index moves every job on every change of status; a partial
# one keeps the jobs that need a look (warned, failed, dead-lettered, cancelled) quick to list,
# and listings newest first read the enqueue time's index (`casparian jobs` on a million jobs:
# 1.2 s to under 1 ms), written once per job. No query reads the history by input hash. A
# parser's executions are counted from the history and its failures (jobs/health.py), so a
# success no longer writes its health row. The unique index of active jobs is partial on
# `finished_at IS NULL` (jobs/queue.py ACTIVE: every end sets it, every return to the queue
# clears it), which a claim does not change; a finished job without an end time (none is
# known to exist) gets its last sign of life as one, or it would count as active. For the same
# reason the runs' summary counts a run's queued and running jobs together (`active`): a claim
# moves a job between the two and wrote its run's row each time; the few running jobs are
# counted from their own index when read (jobs/queue.py RUNS, COUNTS). A claim writes the run's
# row only when it is the run's first (its start).
MIGRATION_16 = """
DROP TRIGGER cf_runs_enqueued;
DROP TRIGGER cf_runs_changed;
UPDATE cf_runs SET queued = queued + running;
ALTER TABLE cf_runs RENAME COLUMN queued TO active;
ALTER TABLE cf_runs DROP COLUMN running;

CREATE TRIGGER cf_runs_enqueued AFTER INSERT ON cf_processing_queue
BEGIN
    INSERT INTO cf_runs (batch, enqueued_at, started_at, finished_at, total, active,
        completed, completed_with_warnings, failed, dead_letter, cancelled)
    VALUES (coalesce(NEW.batch_id, ''), NEW.enqueued_at, NEW.started_at, NEW.finished_at, 1,
        NEW.status IN ('QUEUED', 'RUNNING'), NEW.status = 'COMPLETED',
        NEW.status = 'COMPLETED_WITH_WARNINGS', NEW.status = 'FAILED',
        NEW.status = 'DEAD_LETTER', NEW.status = 'CANCELLED')
    ON CONFLICT (batch) DO UPDATE SET
        enqueued_at = min(enqueued_at, excluded.enqueued_at),
        total = total + 1,
        active = active + excluded.active,
        completed = completed + excluded.completed,
        completed_with_warnings = completed_with_warnings + excluded.completed_with_warnings,
        failed = failed + excluded.failed,
        dead_letter = dead_letter + excluded.dead_letter,
        cancelled = cancelled + excluded.cancelled;
    INSERT OR IGNORE INTO cf_run_parsers VALUES (coalesce(NEW.batch_id, ''), NEW.parser_name);
END;

CREATE TRIGGER cf_runs_changed AFTER UPDATE OF status, finished_at ON cf_processing_queue
WHEN NOT (OLD.status IN ('QUEUED', 'RUNNING') AND NEW.status IN ('QUEUED', 'RUNNING'))
BEGIN
    UPDATE cf_runs SET
        active = active + (NEW.status IN ('QUEUED', 'RUNNING'))
            - (OLD.status IN ('QUEUED', 'RUNNING')),
        completed = completed + (NEW.status = 'COMPLETED') - (OLD.status = 'COMPLETED'),
        completed_with_warnings = completed_with_warnings
            + (NEW.status = 'COMPLETED_WITH_WARNINGS')
            - (OLD.status = 'COMPLETED_WITH_WARNINGS'),
        failed = failed + (NEW.status = 'FAILED') - (OLD.status = 'FAILED'),
        dead_letter = dead_letter + (NEW.status = 'DEAD_LETTER') - (OLD.status = 'DEAD_LETTER'),
        cancelled = cancelled + (NEW.status = 'CANCELLED') - (OLD.status = 'CANCELLED'),
        finished_at = max(
            coalesce(finished_at, NEW.finished_at), coalesce(NEW.finished_at, finished_at)
        )
    WHERE batch = coalesce(NEW.batch_id, '');
END;

-- The run's start is its earliest claim: the first sets it (a run not started yet compares
-- as later than any claim), the others leave it.
CREATE TRIGGER cf_runs_started AFTER UPDATE OF started_at ON cf_processing_queue
WHEN NEW.started_at < (
    SELECT ifnull(started_at, NEW.started_at || '~') FROM cf_runs
    WHERE batch = coalesce(NEW.batch_id, '')
)
BEGIN
    UPDATE cf_runs SET started_at = NEW.started_at WHERE batch = coalesce(NEW.batch_id, '');
END;

UPDATE cf_processing_queue SET finished_at = coalesce(heartbeat_at, started_at, enqueued_at)
WHERE finished_at IS NULL AND status NOT IN ('QUEUED', 'RUNNING');
DROP INDEX cf_queue_active;
CREATE UNIQUE INDEX cf_queue_active ON cf_processing_queue(
    input_path, parser_name, parser_version, ifnull(sink_uri, '')
) WHERE finished_at IS NULL;
DROP INDEX cf_queue_status;
CREATE INDEX cf_queue_attention ON cf_processing_queue(status, enqueued_at)
    WHERE status IN ('COMPLETED_WITH_WARNINGS', 'FAILED', 'DEAD_LETTER', 'CANCELLED');
CREATE INDEX cf_queue_order ON cf_processing_queue(enqueued_at);
DROP INDEX cf_history_input;
ALTER TABLE cf_parser_health DROP COLUMN total_executions;
"""

MIGRATIONS: tuple[str, ...] = (
    MIGRATION_1,
    MIGRATION_2,
    MIGRATION_3,
    MIGRATION_4,
    MIGRATION_5,
    MIGRATION_6,
    MIGRATION_7,
    MIGRATION_8,
    MIGRATION_9,
    MIGRATION_10,
    MIGRATION_11,
    MIGRATION_12,
    MIGRATION_13,
    MIGRATION_14,
    MIGRATION_15,
    MIGRATION_16,
)
LATEST_VERSION = len(MIGRATIONS)

# The path index: the trigram index over scout_files.rel_path behind substring and glob
# filters (scout/text_index.py). It lives in a file of its own beside the database, attached
# as `path_index` by every connection, because SQLite allows one writer per file: a large scan
# fills it on a second connection while it writes the catalogue. It is derived data, kept
# outside the migrations: created when missing, and started afresh when unreadable.
# Contentless (content=''): it returns the ids of candidate rows, and the catalogue has the
# paths. The mark names the last row indexed (see text_index.catch_up).
PATH_INDEX = """
CREATE VIRTUAL TABLE path_index.scout_files_text USING fts5(
    rel_path, content='', tokenize='trigram', detail='none', columnsize=0
);
CREATE TABLE path_index.scout_files_text_mark (
    indexed_upto INTEGER NOT NULL,
    upto_rel_path TEXT,
    upto_first_seen TEXT
);
INSERT INTO path_index.scout_files_text_mark VALUES (0, NULL, NULL);
"""
