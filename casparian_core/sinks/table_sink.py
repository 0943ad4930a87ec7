"""Database sinks (SQLite, DuckDB): one table per output, each row tagged with its part.

The sink keeps one connection to its file. A part streams its rows into a TEMP table of that
connection (private to it, gone if the process dies); `commit_together` publishes an input's
parts in one transaction: for each part, delete its old rows, insert the new ones and record its
`PartInfo` in the `_cf_parts` table, so a reader sees every output of the input old or every
one new. An output's table keeps one set of columns: a part with other columns is refused while
the table holds rows of other parts, and replaces the table when it holds none.

A dialect (`sqlite_sink`, `duckdb_sink`) says how to connect, how to stage Arrow rows and how
its driver's errors read.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from casparian_core.sinks.base import (
    PART_COLUMN,
    PartInfo,
    PartWriter,
    SinkError,
    check_part_names,
    os_error_to_sink_error,
    quote_identifier,
    schema_changed_error,
)

if TYPE_CHECKING:
    import pyarrow as pa

PARTS_TABLE = "_cf_parts"  # per output and part: the PartInfo of the committed part
STAGED = "_cf_backfill"  # a backfill's staged database, attached for its swap
_SWAP_KEYS = "_cf_swap_keys"  # the parts a backfill replaces, in a TEMP table for its swap
_LOCATION = "{path} (table {output})"
_LOCATION_PATTERN = re.compile(r"^(?P<path>.+) \(table (?P<output>[^()]+)\)$")


def split_location(location: str) -> tuple[Path, str] | None:
    """The database file and output of a `TableSink.location`; None for any other location
    (a folder sink's is the output's folder)."""
    found = _LOCATION_PATTERN.match(location)
    return (Path(found["path"]), found["output"]) if found else None


class Connection(Protocol):
    def execute(self, sql: str, parameters: Sequence[object] = ..., /) -> Any: ...

    def close(self) -> None: ...


class TableSink(ABC):
    scheme: ClassVar[str]
    text_type: ClassVar[str]  # the column type of part keys and PartInfo fields
    begin_sql: ClassVar[str]  # starts the commit's write transaction
    driver_errors: ClassVar[tuple[type[Exception], ...]]

    def __init__(self, path: Path) -> None:
        self.path = path
        self.uri = f"{self.scheme}:///{path}"
        self._connection: Connection | None = None

    # What a dialect provides.

    @abstractmethod
    def _connect(self) -> Connection: ...

    @abstractmethod
    def _table_columns(self, table: str) -> list[tuple[str, str]]:
        """The table's (column, declared type) in order; [] when it does not exist."""

    @abstractmethod
    def _create_staging(self, staging: str, schema: pa.Schema) -> list[tuple[str, str]]:
        """Create the TEMP table `staging` for rows of `schema`; its (column, type)."""

    @abstractmethod
    def _insert_staging(self, staging: str, table: pa.Table) -> None: ...

    @abstractmethod
    def _create_table(self, table: str, staging: str, columns: list[tuple[str, str]]) -> None:
        """Create the output's table (if missing) with `columns` and the part column."""

    @abstractmethod
    def _sink_error(self, error: Exception) -> SinkError:
        """A driver error as the user should read it."""

    @abstractmethod
    def _attach_sql(self, path: Path) -> str:
        """The statement attaching the database file `path`, read only, as STAGED."""

    @abstractmethod
    def _staged_columns(self, table: str) -> list[tuple[str, str]]:
        """`_table_columns` of a table of the attached STAGED database."""

    @abstractmethod
    def _create_like(self, table: str, staged: str) -> None:
        """Create the output's table with the columns of the STAGED table `staged`."""

    # The Sink protocol.

    def has_part(self, output: str, part_key: str) -> bool:
        return self.committed(output, part_key) is not None

    def committed(self, output: str, part_key: str) -> PartInfo | None:
        check_part_names(output, part_key)
        if self._connection is None and not self.path.is_file():
            return None  # asking must not create the file
        with self._translated_errors():
            if not self._table_columns(PARTS_TABLE):
                return None
            rows = self._execute(
                f"SELECT input_key, source_hash, parser_version FROM main.{PARTS_TABLE} "
                "WHERE output = ? AND part = ?",
                (output, part_key),
            )
        return PartInfo(*rows[0]) if rows else None

    def begin(self, output: str, part_key: str, schema: pa.Schema, info: PartInfo) -> TablePart:
        check_part_names(output, part_key)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise os_error_to_sink_error(error, self.uri) from error
        part = TablePart(self, output, part_key, info)
        with self._translated_errors():
            part.columns = self._create_staging(part.staging, schema)
        try:
            part.replaces_table = self._check_columns(output, part_key, part.columns)
        except BaseException:
            part.abort()
            raise
        return part

    def begin_removal(self, output: str, part_key: str) -> TablePart:
        check_part_names(output, part_key)
        return TablePart(self, output, part_key, None)

    def commit_together(self, parts: Sequence[PartWriter]) -> Future[None]:
        """Publish the parts in one transaction, now; on failure none is published."""
        tables = [part for part in parts if isinstance(part, TablePart)]
        if len(tables) != len(parts):
            raise TypeError("commit_together() takes parts begun by this sink")
        for part in tables:
            part.check_open()
        try:
            with self._translated_errors(), self._transaction():
                self._execute(
                    f"CREATE TABLE IF NOT EXISTS main.{PARTS_TABLE} (output {self.text_type} "
                    f"NOT NULL, part {self.text_type} NOT NULL, input_key {self.text_type}, "
                    f"source_hash {self.text_type}, parser_version {self.text_type})"
                )
                for part in tables:
                    self._publish(part)
        finally:
            for part in tables:
                part.abort()  # drops the staging tables
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def location(self, output: str) -> str:
        return _LOCATION.format(path=self.path, output=output)

    # Reading back (quarantine replay): the caller checks first that the file exists.

    def columns(self, table: str) -> list[str]:
        """The table's column names; [] when it does not exist."""
        with self._translated_errors():
            return [name for name, _ in self._table_columns(table)]

    def read(self, sql: str, parameters: Sequence[object] = ()) -> list[Any]:
        """The rows of one query on the sink's file, its errors as SinkError."""
        with self._translated_errors():
            return self._execute(sql, parameters)

    def close(self) -> None:
        """Close the connection: each commit was a transaction, durable when it returned."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    # A backfill's swap (backfill/): the outputs of a staged database of the same dialect.

    def swap_in(
        self, staged: Path, part_keys: Sequence[str], *, check_only: bool = False
    ) -> list[str]:
        """In one transaction, for each output the staged database holds: the rows of the parts
        `part_keys` replaced by the staged rows, and their PartInfo records; a table whose
        columns change is replaced whole, refused (OutputSchemaError) while it holds rows of
        other parts. A reader sees every output old or every one new. `check_only` keeps
        nothing: the refusal, if any, is the answer. Returns the outputs swapped."""
        outputs: list[str] = []
        with self._translated_errors():
            self._execute(self._attach_sql(staged))
            try:
                with self._transaction():
                    outputs = self._swap_attached(part_keys)
                    if check_only:
                        raise _CheckedOnly
            except _CheckedOnly:
                pass
            finally:
                self._execute(f"DETACH {STAGED}")
        return outputs

    def _swap_attached(self, part_keys: Sequence[str]) -> list[str]:
        self._execute(
            f"CREATE TABLE IF NOT EXISTS main.{PARTS_TABLE} (output {self.text_type} "
            f"NOT NULL, part {self.text_type} NOT NULL, input_key {self.text_type}, "
            f"source_hash {self.text_type}, parser_version {self.text_type})"
        )
        self._execute(f"CREATE TEMP TABLE {_SWAP_KEYS} (part {self.text_type})")
        for key in part_keys:
            self._execute(f"INSERT INTO temp.{_SWAP_KEYS} VALUES (?)", (key,))
        outputs = []
        if self._staged_columns(PARTS_TABLE):
            rows = self._execute(f"SELECT DISTINCT output FROM {STAGED}.{PARTS_TABLE} ORDER BY 1")
            outputs = [output for (output,) in rows]
        for output in outputs:
            self._swap_output(output)
        self._execute(f"DROP TABLE temp.{_SWAP_KEYS}")
        return outputs

    def _swap_output(self, output: str) -> None:
        table, staged = f"main.{quote_identifier(output)}", f"{STAGED}.{quote_identifier(output)}"
        replaced = f"{PART_COLUMN} IN (SELECT part FROM temp.{_SWAP_KEYS})"
        live, new = self._table_columns(output), self._staged_columns(output)
        if live and live != new:
            if self._execute(f"SELECT 1 FROM {table} WHERE NOT ({replaced}) LIMIT 1"):
                raise schema_changed_error(self.uri, output, live, new)
            self._execute(f"DROP TABLE {table}")
            live = []
        if live:
            self._execute(f"DELETE FROM {table} WHERE {replaced}")
        else:
            self._create_like(output, staged)
        names = ", ".join(quote_identifier(name) for name, _ in new)
        self._execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staged}")
        self._execute(
            f"DELETE FROM main.{PARTS_TABLE} WHERE output = ? AND part IN "
            f"(SELECT part FROM temp.{_SWAP_KEYS})",
            (output,),
        )
        self._execute(
            f"INSERT INTO main.{PARTS_TABLE} SELECT output, part, input_key, source_hash, "
            f"parser_version FROM {STAGED}.{PARTS_TABLE} WHERE output = ?",
            (output,),
        )

    # Shared by the dialects.

    def _connected(self) -> Connection:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _execute(self, sql: str, parameters: Sequence[object] = ()) -> list[Any]:
        """Run one statement and fetch all its rows (DuckDB takes no other statement on a
        connection while a result is unread)."""
        return list(self._connected().execute(sql, parameters).fetchall())

    def _drop_staging(self, staging: str) -> None:
        if self._connection is not None:
            with contextlib.suppress(*self.driver_errors):
                self._connection.execute(f"DROP TABLE IF EXISTS temp.{staging}").fetchall()

    def _check_columns(self, output: str, part_key: str, columns: list[tuple[str, str]]) -> bool:
        """Whether the part must replace the output's table, whose columns differ but which
        holds no other part's rows; raises OutputSchemaError when it holds some."""
        with self._translated_errors():
            existing = self._table_columns(output)
            expected = [*columns, (PART_COLUMN, self.text_type)]
            if not existing or existing == expected:
                return False
            others = self._execute(
                f"SELECT 1 FROM main.{quote_identifier(output)} WHERE {PART_COLUMN} <> ? LIMIT 1",
                (part_key,),
            )
        if others:
            raise schema_changed_error(self.uri, output, existing, expected)
        return True

    def _publish(self, part: TablePart) -> None:
        table = f"main.{quote_identifier(part.output)}"
        if part.info is None:  # a removal
            if self._table_columns(part.output):
                self._execute(f"DELETE FROM {table} WHERE {PART_COLUMN} = ?", (part.key,))
        else:
            if part.replaces_table:
                self._execute(f"DROP TABLE IF EXISTS {table}")
            self._create_table(part.output, part.staging, part.columns)
            self._execute(f"DELETE FROM {table} WHERE {PART_COLUMN} = ?", (part.key,))
            names = ", ".join(quote_identifier(name) for name, _ in part.columns)
            self._execute(
                f"INSERT INTO {table} ({names}, {PART_COLUMN}) "
                f"SELECT {names}, ? FROM temp.{part.staging}",
                (part.key,),
            )
        self._execute(
            f"DELETE FROM main.{PARTS_TABLE} WHERE output = ? AND part = ?", (part.output, part.key)
        )
        if part.info is not None:
            info = part.info
            self._execute(
                f"INSERT INTO main.{PARTS_TABLE} VALUES (?, ?, ?, ?, ?)",
                (part.output, part.key, info.input_key, info.source_hash, info.parser_version),
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._execute(self.begin_sql)
        try:
            yield
        except BaseException:
            with contextlib.suppress(*self.driver_errors):
                self._execute("ROLLBACK")
            raise
        self._execute("COMMIT")

    @contextlib.contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except self.driver_errors as error:
            raise self._sink_error(error) from error


class _CheckedOnly(Exception):
    """Rolls a checking swap back."""


def sql_text(value: str) -> str:
    """A string literal for SQLite and DuckDB (ATTACH takes no bound parameter in DuckDB)."""
    return "'" + value.replace("'", "''") + "'"


class TablePart:
    """A part of a table sink: rows staged in a TEMP table until the commit moves them; without
    `info` (from `begin_removal`), a commit that deletes the part's rows."""

    def __init__(self, sink: TableSink, output: str, key: str, info: PartInfo | None) -> None:
        self.output = output
        self.key = key
        self.info = info
        self.staging = quote_identifier(f"_cf_staging_{uuid.uuid4().hex}")
        self.columns: list[tuple[str, str]] = []
        self.replaces_table = False
        self._sink: TableSink | None = sink

    def write(self, table: pa.Table) -> None:
        sink = self.check_open()
        try:
            with sink._translated_errors():
                sink._insert_staging(self.staging, table)
        except BaseException:
            self.abort()
            raise

    def commit(self) -> None:
        self.check_open().commit_together([self])

    def abort(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None and self.info is not None:
            sink._drop_staging(self.staging)

    def check_open(self) -> TableSink:
        """The part's sink; raises RuntimeError once the part is committed or aborted."""
        if self._sink is None:
            raise RuntimeError("the part was already committed or aborted")
        return self._sink
