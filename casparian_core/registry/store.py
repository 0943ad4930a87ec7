"""Registered parser versions (`cf_parsers`, `cf_parser_topics`): this module owns their SQL.

A row holds the artifact (the deterministic ZIP) with its SHA-256, the parser file inside it,
the hash of its lock, the gatekeeper exceptions its pyproject.toml allowed, and who registered
it from where and when. Rows are never changed or deleted (the schema's triggers refuse it).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from casparian_core.db.connection import write_transaction
from casparian_core.registry import contracts
from casparian_core.registry.contracts import ApprovedContract

_COLUMNS = (
    "id, name, version, artifact_sha256, length(artifact), entry, lock_hash, allowances,"
    " registered_from, registered_by, registered_at"
)


@dataclass(frozen=True)
class RegisteredParser:
    """One registered parser version (without its artifact's bytes)."""

    id: str  # uuid4 hex
    name: str
    version: str
    artifact_sha256: str
    artifact_size: int
    entry: str  # the parser file's path inside the artifact
    lock_hash: str
    allowances: tuple[str, ...]  # [tool.casparian] allow, as the gatekeeper applied it
    registered_from: str
    registered_by: str
    registered_at: str
    topics: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "artifact_sha256": self.artifact_sha256,
            "artifact_size": self.artifact_size,
            "entry": self.entry,
            "lock_hash": self.lock_hash,
            "allowances": list(self.allowances),
            "topics": list(self.topics),
            "registered_from": self.registered_from,
            "registered_by": self.registered_by,
            "registered_at": self.registered_at,
        }


def insert(
    conn: sqlite3.Connection,
    parser: RegisteredParser,
    artifact: bytes,
    approved: list[ApprovedContract],
) -> None:
    """Store the version, its topics and its contracts in one transaction."""
    with write_transaction(conn):
        conn.execute(
            "INSERT INTO cf_parsers (id, name, version, artifact, artifact_sha256, entry,"
            " lock_hash, allowances, registered_from, registered_by, registered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                parser.id,
                parser.name,
                parser.version,
                artifact,
                parser.artifact_sha256,
                parser.entry,
                parser.lock_hash,
                json.dumps(list(parser.allowances)),
                parser.registered_from,
                parser.registered_by,
                parser.registered_at,
            ),
        )
        conn.executemany(
            "INSERT INTO cf_parser_topics (parser_id, topic) VALUES (?, ?)",
            [(parser.id, topic) for topic in parser.topics],
        )
        contracts.insert(conn, parser.id, approved)


def find(conn: sqlite3.Connection, name: str, version: str | None) -> RegisteredParser | None:
    """The version, or the parser's latest registered one when `version` is None."""
    if version is None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM cf_parsers WHERE name = ?"
            " ORDER BY registered_at DESC, rowid DESC LIMIT 1",
            (name,),
        ).fetchone()
    else:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM cf_parsers WHERE name = ? AND version = ?", (name, version)
        ).fetchone()
    return None if row is None else _parser(conn, row)


def versions(conn: sqlite3.Connection, name: str | None = None) -> list[RegisteredParser]:
    """Every registered version (of `name`, or of every parser), by name then registration."""
    where, args = ("WHERE name = ?", (name,)) if name is not None else ("", ())
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM cf_parsers {where} ORDER BY name, registered_at, rowid", args
    ).fetchall()
    return [_parser(conn, row) for row in rows]


def artifact(conn: sqlite3.Connection, parser_id: str) -> bytes:
    return conn.execute("SELECT artifact FROM cf_parsers WHERE id = ?", (parser_id,)).fetchone()[0]


def for_topic(conn: sqlite3.Connection, topic: str) -> list[RegisteredParser]:
    """The latest registered version of each parser bound to `topic`."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM cf_parsers WHERE rowid IN (SELECT max(p.rowid) FROM cf_parsers"
        " p JOIN cf_parser_topics t ON t.parser_id = p.id WHERE t.topic = ? GROUP BY p.name)"
        " ORDER BY name",
        (topic,),
    ).fetchall()
    return [_parser(conn, row) for row in rows]


def _parser(conn: sqlite3.Connection, row: tuple[object, ...]) -> RegisteredParser:
    parser_id = str(row[0])
    topics = tuple(
        topic
        for (topic,) in conn.execute(
            "SELECT topic FROM cf_parser_topics WHERE parser_id = ? ORDER BY topic", (parser_id,)
        )
    )
    (_, name, version, sha, size, entry, lock_hash, allowances, origin, by, at) = row
    return RegisteredParser(
        parser_id,
        str(name),
        str(version),
        str(sha),
        int(size),  # type: ignore[call-overload]
        str(entry),
        str(lock_hash),
        tuple(json.loads(str(allowances))),
        str(origin),
        str(by),
        str(at),
        topics,
    )
