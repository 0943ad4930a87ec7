"""Manual tags: set by a person, never overwritten by rules."""

from __future__ import annotations

import re
import sqlite3

from casparian_core.db.connection import write_transaction
from casparian_core.scout.errors import InvalidTagError
from casparian_core.scout.queries import FileQuery

# Tags become parser topics and CLI arguments: keep them to one plain word.
TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def validate_tag(tag: str) -> None:
    if not TAG_PATTERN.fullmatch(tag):
        raise InvalidTagError(tag)


def tag_files(conn: sqlite3.Connection, query: FileQuery, tag: str) -> int:
    """Tag every file `query` selects; returns how many."""
    validate_tag(tag)
    return _set_manual_tag(conn, query, tag)


def untag_files(conn: sqlite3.Connection, query: FileQuery) -> int:
    """Remove the tag of every file `query` selects; returns how many.

    The files keep tag_source='manual' with no tag: a person said "no tag", so rules leave them.
    """
    return _set_manual_tag(conn, query, None)


def _set_manual_tag(conn: sqlite3.Connection, query: FileQuery, tag: str | None) -> int:
    where = query.where(conn)
    with write_transaction(conn):
        return conn.execute(
            "UPDATE scout_files SET tag = ?, tag_source = 'manual', rule_id = NULL"
            f" WHERE {where.sql}",
            (tag, *where.params),
        ).rowcount
