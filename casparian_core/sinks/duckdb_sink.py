"""DuckDB sink: the DuckDB dialect of `table_sink.TableSink`.

Arrow tables are appended directly (DuckDB scans them without conversion) into the part's TEMP
table. Types are DuckDB's own mapping of the Arrow types (dictionary columns become VARCHAR).
DuckDB admits one process at a time to a file it writes: processes take turns (file_turns.py).
The sink takes this process's turn when it connects, and ends it (closes its connection) when
it closes, or after a commit that leaves nothing staged while another process waits.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import cast

import duckdb
import pyarrow as pa

from casparian_core.sinks import file_turns
from casparian_core.sinks.base import PART_COLUMN, PartInfo, PartWriter, SinkError, quote_identifier
from casparian_core.sinks.table_sink import STAGED, Connection, TableSink, sql_text

_INCOMING = "_cf_incoming"  # name under which a batch is visible to SQL while it is appended
# Connections to one file in one process share a database instance, whose catalog admits one
# writer: two workers' commits at once failed with a write-write conflict ("Catalog write-write
# conflict on create"), and an Arrow batch registered meanwhile could find no
# `python_arrow_scan`. So a process writes each DuckDB file one operation at a time.
_WRITERS: dict[Path, threading.RLock] = {}
_WRITERS_LOCK = threading.Lock()


def _writer_lock(path: Path) -> threading.RLock:
    with _WRITERS_LOCK:
        return _WRITERS.setdefault(path, threading.RLock())


class DuckdbSink(TableSink):
    scheme = "duckdb"
    text_type = "VARCHAR"
    begin_sql = "BEGIN TRANSACTION"
    driver_errors = (duckdb.Error,)

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._writing = _writer_lock(path)
        self._staged: set[str] = set()  # staging tables of this connection, not yet dropped

    def committed(self, output: str, part_key: str) -> PartInfo | None:
        try:
            return super().committed(output, part_key)
        finally:
            self._hand_over_if_asked()

    def commit_together(self, parts: Sequence[PartWriter]) -> Future[None]:
        with self._writing:
            try:
                return super().commit_together(parts)
            finally:
                self._hand_over_if_asked()

    def close(self) -> None:
        had_connection = self._connection is not None
        try:
            super().close()
        finally:
            self._staged.clear()
            if had_connection:
                file_turns.give_back(self.path)

    def _hand_over_if_asked(self) -> None:
        """Between inputs, let a process waiting for the file have it."""
        idle = self._connection is not None and not self._staged
        if idle and file_turns.someone_waits(self.path):
            self.close()

    def _connect(self) -> Connection:
        file_turns.take(self.path)
        try:
            return duckdb.connect(str(self.path))
        except BaseException as error:
            file_turns.give_back(self.path)
            if isinstance(error, duckdb.Error):
                raise self._sink_error(error) from error
            raise

    def _drop_staging(self, staging: str) -> None:
        super()._drop_staging(staging)
        self._staged.discard(staging)

    def _table_columns(self, table: str) -> list[tuple[str, str]]:
        rows = self._execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'main' "
            "AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [(name, column_type) for name, column_type in rows]

    def _create_staging(self, staging: str, schema: pa.Schema) -> list[tuple[str, str]]:
        self._staged.add(staging)
        self._with_incoming(
            schema.empty_table(),
            f"CREATE TEMP TABLE {staging} AS SELECT * FROM {_INCOMING} LIMIT 0",
        )
        staged = self._execute(f"DESCRIBE temp.{staging}")
        return [(name, column_type) for name, column_type, *_ in staged]

    def _insert_staging(self, staging: str, table: pa.Table) -> None:
        self._with_incoming(table, f"INSERT INTO temp.{staging} SELECT * FROM {_INCOMING}")

    def _create_table(self, table: str, staging: str, columns: list[tuple[str, str]]) -> None:
        self._execute(
            f"CREATE TABLE IF NOT EXISTS main.{quote_identifier(table)} AS SELECT *, "
            f"CAST(NULL AS VARCHAR) AS {PART_COLUMN} FROM temp.{staging} LIMIT 0"
        )

    def _attach_sql(self, path: Path) -> str:
        return f"ATTACH {sql_text(str(path))} AS {STAGED} (READ_ONLY)"

    def _staged_columns(self, table: str) -> list[tuple[str, str]]:
        rows = self._execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_catalog = '{STAGED}' AND table_schema = 'main' "
            "AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [(name, column_type) for name, column_type in rows]

    def _create_like(self, table: str, staged: str) -> None:
        self._execute(
            f"CREATE TABLE main.{quote_identifier(table)} AS SELECT * FROM {staged} LIMIT 0"
        )

    def _sink_error(self, error: Exception) -> SinkError:
        if isinstance(error, duckdb.IOException | duckdb.TransactionException):
            return SinkError(
                f"{self.uri}: writing failed ({error}); check free space and permissions, "
                "or choose another --sink"
            )
        return SinkError(
            f"{self.uri}: DuckDB error ({error}); check the file or choose another --sink"
        )

    def _with_incoming(self, table: pa.Table, sql: str) -> None:
        with self._writing:
            connection = cast(duckdb.DuckDBPyConnection, self._connected())
            connection.register(_INCOMING, table)
            try:
                connection.execute(sql).fetchall()
            finally:
                connection.unregister(_INCOMING)
