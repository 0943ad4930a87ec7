"""SQLite sink: the SQLite dialect of `table_sink.TableSink`.

Rows stream into a TEMP table as SQLite values. Column types (SQLite has only a few storage
classes):

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

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pyarrow as pa

from casparian_core.contracts.json_text import json_text
from casparian_core.sinks.base import PART_COLUMN, SinkError, quote_identifier
from casparian_core.sinks.table_sink import STAGED, Connection, TableSink, sql_text

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


class SqliteSink(TableSink):
    scheme = "sqlite"
    text_type = "TEXT"
    begin_sql = "BEGIN IMMEDIATE"
    driver_errors = (sqlite3.Error,)

    def _connect(self) -> Connection:
        try:
            # One thread drives a session at a time, but not always the same one (Parser
            # Bench runs each test in a worker thread).
            connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA schema_version").fetchone()  # fails now if unreadable
        except sqlite3.Error as error:
            raise self._sink_error(error) from error
        return connection

    def _table_columns(self, table: str) -> list[tuple[str, str]]:
        rows = self._execute(f"PRAGMA main.table_info({quote_identifier(table)})")
        return [(name, declared) for _, name, declared, *_ in rows]

    def _create_staging(self, staging: str, schema: pa.Schema) -> list[tuple[str, str]]:
        columns = [(field.name, _column_of(field, self.uri)[0]) for field in schema]
        declared = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in columns)
        self._execute(f"CREATE TEMP TABLE {staging} ({declared})")
        return columns

    def _insert_staging(self, staging: str, table: pa.Table) -> None:
        connection = cast(sqlite3.Connection, self._connected())
        values = [
            _column_of(field, self.uri)[1](table.column(field.name)) for field in table.schema
        ]
        placeholders = ", ".join("?" * table.num_columns)
        connection.execute("BEGIN")
        try:
            connection.executemany(
                f"INSERT INTO temp.{staging} VALUES ({placeholders})", zip(*values, strict=True)
            )
        except OverflowError as error:  # a uint64 above SQLite's largest INTEGER
            connection.execute("ROLLBACK")
            raise SinkError(
                f"{self.uri}: a value is too large for an SQLite INTEGER; "
                "use a Parquet or DuckDB sink for this output"
            ) from error
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _create_table(self, table: str, staging: str, columns: list[tuple[str, str]]) -> None:
        declared = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in columns)
        name = quote_identifier(table)
        self._execute(
            f"CREATE TABLE IF NOT EXISTS main.{name} ({declared}, {PART_COLUMN} TEXT NOT NULL)"
        )
        index = quote_identifier(f"{table}_{PART_COLUMN}")
        self._execute(f"CREATE INDEX IF NOT EXISTS main.{index} ON {name} ({PART_COLUMN})")

    def _attach_sql(self, path: Path) -> str:
        return f"ATTACH DATABASE {sql_text(str(path))} AS {STAGED}"  # only read

    def _staged_columns(self, table: str) -> list[tuple[str, str]]:
        rows = self._execute(f"PRAGMA {STAGED}.table_info({quote_identifier(table)})")
        return [(name, declared) for _, name, declared, *_ in rows]

    def _create_like(self, table: str, staged: str) -> None:
        columns = [c for c in self._staged_columns(table) if c[0] != PART_COLUMN]
        self._create_table(table, staged, columns)

    def _sink_error(self, error: Exception) -> SinkError:
        target = self.uri
        primary_code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if primary_code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR):
            return SinkError(
                f"{target}: writing failed (disk full, a file size limit, or an I/O error); "
                "free some space or choose another --sink"
            )
        if primary_code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM):
            return SinkError(
                f"{target}: cannot open the file for writing; choose a writable --sink"
            )
        if primary_code == sqlite3.SQLITE_NOTADB:
            return SinkError(f"{target}: the file is not an SQLite database; choose another --sink")
        return SinkError(
            f"{target}: SQLite error ({error}); check the file or choose another --sink"
        )


def _column_of(field: pa.Field, target: str) -> tuple[str, _Convert]:
    found = sqlite_column(field.type)
    if found is None:
        raise SinkError(
            f"{target}: column '{field.name}' has type {field.type}, which SQLite cannot "
            "hold; use a Parquet or DuckDB sink"
        )
    return found
