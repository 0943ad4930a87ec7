"""Tagging rules: a glob on the relative path gives a tag; the highest priority wins.

Patterns are SQLite GLOB patterns matched against the whole path relative to the source root,
case-sensitively: `*` matches any run of characters including `/` (so `*.csv` matches CSV files
at any depth and `logs/*` everything under the top-level `logs` folder), `?` one character,
`[abc]`, `[a-z]` and `[^abc]` one character of (or not of) a set. The same patterns select files
for `casparian tag`, `scan --pattern` and the Discover filter, so a filter shows exactly what a
rule made from it would tag.

Rules never touch manual tags (tag_source='manual'). Matching runs inside SQLite, over id
ranges, so re-applying rules to a million files neither loads them into Python nor holds the
write lock for long.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

from casparian_core.db.connection import utc_now, write_transaction
from casparian_core.scout.errors import EmptyPatternError, RuleNotFoundError
from casparian_core.scout.tagging import validate_tag

APPLY_BATCH_IDS = 100_000

# For each file in the id range that rules may tag: the winning rule (or NULL), joined to its
# tag; rows whose rule or tag would change are rewritten, the rest are left alone.
APPLY_RULES = """
UPDATE scout_files AS f
SET rule_id = best.rule_id,
    tag = r.tag,
    tag_source = CASE WHEN best.rule_id IS NULL THEN NULL ELSE 'rule' END
FROM (
    SELECT c.id AS file_id,
           (SELECT r.id FROM scout_tagging_rules r
             WHERE r.enabled = 1
               AND (r.source_id IS NULL OR r.source_id = c.source_id)
               AND c.rel_path GLOB r.pattern
             ORDER BY r.priority DESC, r.id
             LIMIT 1) AS rule_id
    FROM scout_files c
    WHERE c.id BETWEEN ? AND ? AND (c.tag_source IS NULL OR c.tag_source = 'rule')
) AS best
LEFT JOIN scout_tagging_rules r ON r.id = best.rule_id
WHERE f.id = best.file_id AND (f.rule_id IS NOT best.rule_id OR f.tag IS NOT r.tag)
"""


@dataclass(frozen=True)
class RuleInfo:
    id: int
    name: str | None
    pattern: str
    tag: str
    priority: int
    enabled: bool
    source_id: int | None
    source: str | None
    files: int  # files this rule tags now

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def list_rules(conn: sqlite3.Connection) -> list[RuleInfo]:
    rows = conn.execute(
        """
        SELECT r.id, r.name, r.pattern, r.tag, r.priority, r.enabled, r.source_id, s.name,
               (SELECT count(*) FROM scout_files f WHERE f.rule_id = r.id)
        FROM scout_tagging_rules r LEFT JOIN scout_sources s ON s.id = r.source_id
        ORDER BY r.priority DESC, r.id
        """
    ).fetchall()
    return [
        RuleInfo(id_, name, pattern, tag, priority, bool(enabled), source_id, source, files)
        for id_, name, pattern, tag, priority, enabled, source_id, source, files in rows
    ]


def add_rule(
    conn: sqlite3.Connection,
    pattern: str,
    tag: str,
    *,
    priority: int = 0,
    source_id: int | None = None,
    name: str | None = None,
) -> int:
    _check_pattern(pattern)
    validate_tag(tag)
    cursor = conn.execute(
        "INSERT INTO scout_tagging_rules (name, source_id, pattern, tag, priority, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (name, source_id, pattern, tag, priority, utc_now()),
    )
    apply_rules(conn)
    return cursor.lastrowid or 0


def update_rule(
    conn: sqlite3.Connection,
    rule_id: int,
    *,
    pattern: str,
    tag: str,
    priority: int,
    source_id: int | None,
    name: str | None,
) -> None:
    _check_pattern(pattern)
    validate_tag(tag)
    cursor = conn.execute(
        "UPDATE scout_tagging_rules SET pattern = ?, tag = ?, priority = ?, source_id = ?,"
        " name = ? WHERE id = ?",
        (pattern, tag, priority, source_id, name, rule_id),
    )
    if cursor.rowcount == 0:
        raise RuleNotFoundError(rule_id)
    apply_rules(conn)


def remove_rule(conn: sqlite3.Connection, rule_id: int) -> None:
    # Files it tagged lose their rule_id (ON DELETE SET NULL); re-applying then gives them
    # the next best rule's tag, or none.
    cursor = conn.execute("DELETE FROM scout_tagging_rules WHERE id = ?", (rule_id,))
    if cursor.rowcount == 0:
        raise RuleNotFoundError(rule_id)
    apply_rules(conn)


def set_rule_enabled(conn: sqlite3.Connection, rule_id: int, enabled: bool) -> None:
    cursor = conn.execute(
        "UPDATE scout_tagging_rules SET enabled = ? WHERE id = ?", (int(enabled), rule_id)
    )
    if cursor.rowcount == 0:
        raise RuleNotFoundError(rule_id)
    apply_rules(conn)


def apply_rules(conn: sqlite3.Connection, first_id: int = 1) -> int:
    """Bring rule tags up to date for files with id >= first_id; returns the rows changed.

    One transaction per id range keeps the write lock short for readers and other writers.
    """
    last_id = conn.execute("SELECT max(id) FROM scout_files").fetchone()[0]
    if last_id is None:
        return 0
    changed = 0
    for low in range(first_id, last_id + 1, APPLY_BATCH_IDS):
        with write_transaction(conn):
            changed += conn.execute(APPLY_RULES, (low, low + APPLY_BATCH_IDS - 1)).rowcount
    return changed


def has_enabled_rules(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute("SELECT 1 FROM scout_tagging_rules WHERE enabled = 1").fetchone() is not None
    )


def _check_pattern(pattern: str) -> None:
    if not pattern.strip():
        raise EmptyPatternError()
