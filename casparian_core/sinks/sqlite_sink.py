"""SQLite sink: one table per output, each row tagged with its part in `_cf_part`.

Rows stream into a TEMP table (private to the connection, gone if the process dies); commit
moves them in one transaction that first deletes the part's old rows, so a reader sees the old
part or the new one. Column types (SQLite has only a few storage classes):

| Arrow                         | SQLite  | stored as                                         |
|-------------------------------|---------|---------------------------------------------------|
| string                        | TEXT    |                                                   |
| bool                          | INTEGER | 0 / 1                                             |
| int8..int64, uint8..uint64    | INTEGER | uint64 values above 2^63-1 cannot be stored       |
| float32, float64              | REAL    |                                                   |
| decimal(p,s)                  | TEXT    | exact decimal text, e.g. '12.50'                  |
| date                          | TEXT    | ISO 8601, '2026-11-27'                            |
| time                          | TEXT    | ISO 8601, '10:15:00.000000'                       |
| timestamp[unit]               | TEXT    | ISO 8601, '2026-11-27 10:15:00.000000'            |
| timestamp[unit, tz]           | TEXT    | ISO 8601 in UTC, '2026-11-27 09:15:00.000000Z'    |
| duration[unit]                | INTEGER | a count of the unit                               |
| binary                        | BLOB    |                                                   |
| list<...>, struct<...>        | TEXT    | JSON, e.g. '[1, 2]', '{"name": "a", "age": 3}'    |
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import pyarrow as pa

from casparian_core.contracts.json_text import json_text
from casparian_core.sinks.base import (
    PART_COLUMN,
    PartWriter,
    SinkError,
    check_part_names,
    commit_in_turn,
    os_error_to_sink_error,
    quote_identifier,
    table_mismatch_error,
)

BUSY_TIMEOUT_S = 30.0
_Convert = Callable[[pa.ChunkedArray], list[object]]


def _as_is(column: pa.ChunkedArray) -> list[object]:
    return column.to_pylist()


def _cast_to(arrow_type: pa.DataType) -> _Convert:
    return lambda column: column.cast(arrow_type).to_pylist()


def _utc_text(column: pa.ChunkedArray) -> list[object]:
    return column.cast(pa.timestamp(column.type.unit, "UTC")).cast(pa.string()).to_pylist()


def sqlite_column(arrow_type: pa.DataType) -> tuple[str, _Convert] | None:
    """The declared SQLite type of an Arrow type and how its values are converted."""
    if pa.types.is_dictionary(arrow_type):
        found = sqlite_column(arrow_type.value_type)
        return None if found is None else (found[0], _cast_to(arrow_type.value_type))
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "TEXT", _as_is
    if pa.types.is_null(arrow_type):
        return "TEXT", _as_is
    if pa.types.is_boolean(arrow_type):
        return "INTEGER", _cast_to(pa.int8())
    if pa.types.is_integer(arrow_type):
        return "INTEGER", _as_is
    if pa.types.is_floating(arrow_type):
        return "REAL", _as_is
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None:
        return "TEXT", _utc_text
    if pa.types.is_decimal(arrow_type) or pa.types.is_temporal(arrow_type):
        if pa.types.is_duration(arrow_type):
            return "INTEGER", _cast_to(pa.int64())
        return "TEXT", _cast_to(pa.string())
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return "BLOB", _as_is
    if pa.types.is_list(arrow_type) or pa.types.is_struct(arrow_type):
        return "TEXT", json_text  # SQLite has no nested types; its json_* functions read it
    return None


class SqliteSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.uri = f"sqlite:///{path}"

    def has_part(self, output: str, part_key: str) -> bool:
        check_part_names(output, part_key)
        if not self.path.is_file():
            return False
        with self._connection() as connection:
            if not _table_columns(connection, output):
                return False
            query = f"SELECT 1 FROM main.{quote_identifier(output)} WHERE {PART_COLUMN} = ? LIMIT 1"
            return connection.execute(query, (part_key,)).fetchone() is not None

    def begin(self, output: str, part_key: str, schema: pa.Schema) -> SqlitePartWriter:
        check_part_names(output, part_key)
        columns = _columns_for(schema, self.uri)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise os_error_to_sink_error(error, self.uri) from error
        connection = self._connect()
        try:
            existing = _table_columns(connection, output)
            expected = [(name, declared) for name, (declared, _) in columns.items()]
            expected.append((PART_COLUMN, "TEXT"))
            if existing and existing != expected:
                raise table_mismatch_error(self.uri, output, existing, expected)
            return SqlitePartWriter(connection, output, part_key, columns, self.uri)
        except BaseException:
            connection.close()
            raise

    def commit_together(self, parts: Sequence[PartWriter]) -> Future[None]:
        return commit_in_turn(parts)

    def location(self, output: str) -> str:
        return f"{self.path} (table {output})"

    def close(self) -> None:
        """Nothing to do: each part's commit is a transaction that is durable when it returns."""

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            connection.execute("PRAGMA schema_version").fetchone()  # fails now if unreadable
        except sqlite3.Error as error:
            raise sqlite_error_to_sink_error(error, self.uri) from error
        return connection

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()


class SqlitePartWriter:
    def __init__(
        self,
        connection: sqlite3.Connection,
        output: str,
        part_key: str,
        columns: dict[str, tuple[str, _Convert]],
        target: str,
    ) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._table = quote_identifier(output)
        self._index = quote_identifier(f"{output}_{PART_COLUMN}")
        self._part_key = part_key
        self._columns = columns
        self._target = target
        self._staging = quote_identifier(f"_cf_staging_{uuid.uuid4().hex}")
        self._column_list = ", ".join(quote_identifier(name) for name in columns)
        self._declared = ", ".join(
            f"{quote_identifier(name)} {declared}" for name, (declared, _) in columns.items()
        )
        with self._aborting_on_error():
            connection.execute(f"CREATE TEMP TABLE {self._staging} ({self._declared})")

    def write(self, table: pa.Table) -> None:
        connection = self._open_connection()
        values = [convert(table.column(name)) for name, (_, convert) in self._columns.items()]
        placeholders = ", ".join("?" * len(self._columns))
        with self._aborting_on_error():
            connection.execute("BEGIN")
            connection.executemany(
                f"INSERT INTO temp.{self._staging} VALUES ({placeholders})",
                zip(*values, strict=True),
            )
            connection.execute("COMMIT")

    def commit(self) -> None:
        connection = self._open_connection()
        with self._aborting_on_error():
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS main.{self._table} "
                f"({self._declared}, {PART_COLUMN} TEXT NOT NULL)"
            )
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS main.{self._index} ON {self._table} ({PART_COLUMN})"
            )
            connection.execute(
                f"DELETE FROM main.{self._table} WHERE {PART_COLUMN} = ?", (self._part_key,)
            )
            connection.execute(
                f"INSERT INTO main.{self._table} ({self._column_list}, {PART_COLUMN}) "
                f"SELECT {self._column_list}, ? FROM temp.{self._staging}",
                (self._part_key,),
            )
            connection.execute("COMMIT")
        self.abort()  # nothing left to undo: this drops the staging table and closes

    def abort(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(sqlite3.Error):
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        connection.close()  # the TEMP staging table goes with the connection

    def _open_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the part was already committed or aborted")
        return self._connection

    @contextlib.contextmanager
    def _aborting_on_error(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            self.abort()
            raise sqlite_error_to_sink_error(error, self._target) from error
        except OverflowError as error:  # a uint64 above SQLite's largest INTEGER
            self.abort()
            raise SinkError(
                f"{self._target}: a value is too large for an SQLite INTEGER; "
                "use a Parquet or DuckDB sink for this output"
            ) from error


def sqlite_error_to_sink_error(error: sqlite3.Error, target: str) -> SinkError:
    primary_code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if primary_code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
        return SinkError(
            f"{target}: writing failed (disk full, a file size limit, or an I/O error); "
            "free some space or choose another --sink"
        )
    if primary_code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM):
        return SinkError(f"{target}: cannot open the file for writing; choose a writable --sink")
    if primary_code == sqlite3.SQLITE_NOTADB:
        return SinkError(f"{target}: the file is not an SQLite database; choose another --sink")
    return SinkError(f"{target}: SQLite error ({error}); check the file or choose another --sink")


def _columns_for(schema: pa.Schema, target: str) -> dict[str, tuple[str, _Convert]]:
    columns = {}
    for field in schema:
        found = sqlite_column(field.type)
        if found is None:
            raise SinkError(
                f"{target}: column '{field.name}' has type {field.type}, which SQLite cannot "
                "hold; use a Parquet or DuckDB sink"
            )
        columns[field.name] = found
    return columns


def _table_columns(connection: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    rows = connection.execute(f"PRAGMA main.table_info({quote_identifier(table)})").fetchall()
    return [(name, declared) for _, name, declared, *_ in rows]
