"""DuckDB sink: one table per output, each row tagged with its part in `_cf_part`.

Arrow tables are appended directly (DuckDB scans them without conversion) into a TEMP table
that belongs to the writer's connection; commit moves the rows in one transaction that first
deletes the part's old rows. Types are DuckDB's own mapping of the Arrow types (dictionary
columns become VARCHAR).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import duckdb
import pyarrow as pa

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

_INCOMING = "_cf_incoming"  # name under which a batch is visible to SQL while it is appended


class DuckdbSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.uri = f"duckdb:///{path}"

    def has_part(self, output: str, part_key: str) -> bool:
        check_part_names(output, part_key)
        if not self.path.is_file():
            return False
        connection = self._connect()
        try:
            if not _table_columns(connection, output):
                return False
            query = f"SELECT 1 FROM main.{quote_identifier(output)} WHERE {PART_COLUMN} = ? LIMIT 1"
            return bool(connection.execute(query, [part_key]).fetchall())
        finally:
            connection.close()

    def begin(self, output: str, part_key: str, schema: pa.Schema) -> DuckdbPartWriter:
        check_part_names(output, part_key)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise os_error_to_sink_error(error, self.uri) from error
        connection = self._connect()
        try:
            writer = DuckdbPartWriter(connection, output, part_key, schema, self.uri)
            existing = _table_columns(connection, output)
            if existing and existing != writer.columns:
                raise table_mismatch_error(self.uri, output, existing, writer.columns)
            return writer
        except BaseException:
            connection.close()
            raise

    def commit_together(self, parts: Sequence[PartWriter]) -> Future[None]:
        return commit_in_turn(parts)

    def location(self, output: str) -> str:
        return f"{self.path} (table {output})"

    def close(self) -> None:
        """Nothing to do: each part's commit is a transaction that is durable when it returns."""

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path))
        except duckdb.Error as error:
            raise duckdb_error_to_sink_error(error, self.uri) from error


class DuckdbPartWriter:
    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        output: str,
        part_key: str,
        schema: pa.Schema,
        target: str,
    ) -> None:
        self._connection: duckdb.DuckDBPyConnection | None = connection
        self._table = quote_identifier(output)
        self._part_key = part_key
        self._target = target
        self._staging = quote_identifier(f"_cf_staging_{uuid.uuid4().hex}")
        with self._aborting_on_error():
            connection.register(_INCOMING, schema.empty_table())
            connection.execute(
                f"CREATE TEMP TABLE {self._staging} AS SELECT * FROM {_INCOMING} LIMIT 0"
            )
            connection.unregister(_INCOMING)
            staged = connection.execute(f"DESCRIBE temp.{self._staging}").fetchall()
        self.columns = [(name, column_type) for name, column_type, *_ in staged]
        self.columns.append((PART_COLUMN, "VARCHAR"))

    def write(self, table: pa.Table) -> None:
        connection = self._open_connection()
        with self._aborting_on_error():
            connection.register(_INCOMING, table)
            connection.execute(f"INSERT INTO temp.{self._staging} SELECT * FROM {_INCOMING}")
            connection.unregister(_INCOMING)

    def commit(self) -> None:
        connection = self._open_connection()
        with self._aborting_on_error():
            connection.begin()
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS main.{self._table} AS SELECT *, "
                f"CAST(NULL AS VARCHAR) AS {PART_COLUMN} FROM temp.{self._staging} LIMIT 0"
            )
            connection.execute(
                f"DELETE FROM main.{self._table} WHERE {PART_COLUMN} = ?", [self._part_key]
            )
            connection.execute(
                f"INSERT INTO main.{self._table} SELECT *, ? FROM temp.{self._staging}",
                [self._part_key],
            )
            connection.commit()
        self.abort()  # nothing left to undo: this closes the connection and its staging table

    def abort(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(duckdb.Error):
            connection.rollback()  # harmless when no transaction is open
        connection.close()  # the TEMP staging table goes with the connection

    def _open_connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            raise RuntimeError("the part was already committed or aborted")
        return self._connection

    @contextlib.contextmanager
    def _aborting_on_error(self) -> Iterator[None]:
        try:
            yield
        except duckdb.Error as error:
            self.abort()
            raise duckdb_error_to_sink_error(error, self._target) from error


def duckdb_error_to_sink_error(error: duckdb.Error, target: str) -> SinkError:
    if isinstance(error, duckdb.IOException | duckdb.TransactionException):
        return SinkError(
            f"{target}: writing failed ({error}); check free space and permissions, "
            "or choose another --sink"
        )
    return SinkError(f"{target}: DuckDB error ({error}); check the file or choose another --sink")


def _table_columns(connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    rows = connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' "
        "AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [(name, column_type) for name, column_type in rows]
