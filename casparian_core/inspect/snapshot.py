"""Parquet snapshots of the SQLite and DuckDB sink files, so the catalogue reads them as it reads
Parquet, without ever holding a lock a writer waits on.

DuckDB has no SQLite reader without an extension (and the catalogue loads none), and a DuckDB
file open read-only keeps its writer out: DuckDB refuses a second process's write connection
instead of waiting. So the file is first copied, quickly and without a lock:
- SQLite: the online backup API, a few pages per step, so a writer's commit waits at most one
  step (the backup starts over by itself when another connection wrote meanwhile);
- DuckDB: the file and its write-ahead log copied as bytes (the writer's lock is advisory), kept
  only if neither changed during the copy, else copied again; the copy opens read-only, and its
  log brings it to the last commit.
Each table of the copy (the sink's `_cf_parts` bookkeeping and its `_cf_part` column left out) is
written to one Parquet file. A snapshot is kept under the output folder's `.snapshots/` (inside
the folder the catalogue may read) and used again until the sink file changes (its size or
modification time, or its journal's): a folder named by the file and that signature, built
aside and renamed into place, so concurrent calls never see half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from casparian_core.inspect.sql import literal
from casparian_core.sinks.base import PART_COLUMN
from casparian_core.sinks.base import quote_identifier as quote
from casparian_core.sinks.table_sink import PARTS_TABLE

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

SNAPSHOTS = ".snapshots"
MANIFEST = "manifest.json"
BACKUP_PAGES = 256  # 1 MB of 4 KB pages per step: a writer waits at most that long
COPY_ATTEMPTS = 3
BATCH_ROWS = 65_536
STALE_SECS = 60.0  # an old snapshot is removed once no call can still be reading it
_SQLITE_MAGIC = b"SQLite format 3\x00"
_DUCKDB_MAGIC = b"DUCK"  # at byte 8
# What each SQLite declared type is read as; SQLite keeps only these storage classes.
_SQLITE_TYPES = {"INTEGER": "int64", "REAL": "float64", "TEXT": "string", "BLOB": "binary"}


class SnapshotError(Exception):
    """The sink file could not be read; the message says why."""


@dataclass(frozen=True)
class SinkSnapshot:
    tables: dict[str, Path]  # output table -> its Parquet copy
    parts: dict[str, int]  # output table -> committed parts, from the sink's `_cf_parts`


def file_kind(path: Path) -> str | None:
    """'sqlite' or 'duckdb' from the file's first bytes; None for anything else."""
    try:
        with path.open("rb") as file:
            head = file.read(16)
    except OSError:
        return None
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if head[8:12] == _DUCKDB_MAGIC:
        return "duckdb"
    return None


def snapshot(path: Path, output_dir: Path) -> SinkSnapshot:
    """The Parquet snapshot of the sink file at `path`, made now unless one of its current
    state exists. Raises SnapshotError. Blocking: call it from a thread."""
    kind = file_kind(path)
    if kind is None:
        reason = "missing" if not path.exists() else "not an SQLite or DuckDB database"
        raise SnapshotError(f"{path} is {reason}")
    cache = output_dir / SNAPSHOTS
    key = hashlib.sha1(str(path).encode()).hexdigest()[:16]
    state = hashlib.sha1(repr(_signature(path)).encode()).hexdigest()[:16]
    folder = cache / f"{key}-{state}"
    if not (folder / MANIFEST).is_file():
        _build(path, kind, cache, folder)
    _remove_stale(cache, key, keep=folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    return SinkSnapshot(
        {name: folder / file for name, file in manifest["tables"].items()}, manifest["parts"]
    )


def _signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    found = []
    for suffix in ("", "-wal", "-journal", ".wal"):
        with contextlib.suppress(FileNotFoundError):
            stat = Path(f"{path}{suffix}").stat()
            found.append((suffix, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def _build(path: Path, kind: str, cache: Path, folder: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    building = cache / f".{folder.name}.{uuid.uuid4().hex}.partial"
    building.mkdir()
    try:
        with tempfile.TemporaryDirectory(dir=cache, prefix=".copy-") as scratch:
            copy = Path(scratch) / "copy"
            if kind == "sqlite":
                manifest = _from_sqlite(path, copy, building)
            else:
                manifest = _from_duckdb(path, copy, building)
        (building / MANIFEST).write_text(json.dumps(manifest))
        try:
            building.rename(folder)
        except OSError:  # another call made the same snapshot meanwhile: use that one
            if not (folder / MANIFEST).is_file():
                raise
    except (OSError, ValueError, sqlite3.Error) as error:  # ValueError: pyarrow's
        raise SnapshotError(f"{path} could not be read ({error})") from None
    finally:
        shutil.rmtree(building, ignore_errors=True)


def _remove_stale(cache: Path, key: str, keep: Path) -> None:
    now = time.time()
    for old in cache.glob(f"{key}-*"):
        with contextlib.suppress(OSError):
            if old != keep and now - old.stat().st_mtime > STALE_SECS:
                shutil.rmtree(old)


def _from_sqlite(path: Path, copy: Path, into: Path) -> dict[str, object]:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(copy)
    try:
        source.backup(target, pages=BACKUP_PAGES, sleep=0.01)
        names = [
            name
            for (name,) in target.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return _tables_and_parts(
            target, names, into, lambda name, file: _sqlite_table_to_parquet(target, name, file)
        )
    finally:
        source.close()
        target.close()


def _sqlite_table_to_parquet(con: sqlite3.Connection, table: str, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    declared = [
        (name, _SQLITE_TYPES.get(kind.upper(), "string"))
        for _, name, kind, *_ in con.execute(f"PRAGMA table_info({quote(table)})")
        if name != PART_COLUMN
    ]
    schema = pa.schema([(name, kind) for name, kind in declared])
    columns = ", ".join(quote(name) for name, _ in declared)
    cursor = con.execute(f"SELECT {columns} FROM {quote(table)}")
    with pq.ParquetWriter(str(target), schema) as writer:
        for rows in iter(lambda: cursor.fetchmany(BATCH_ROWS), []):
            writer.write_batch(_batch(rows, schema))
        writer.write_table(schema.empty_table())


def _batch(rows: list[tuple[object, ...]], schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    values = list(zip(*rows, strict=True))
    return pa.RecordBatch.from_arrays(
        [pa.array(values[i], type=field.type) for i, field in enumerate(schema)], schema=schema
    )


def _from_duckdb(path: Path, copy: Path, into: Path) -> dict[str, object]:
    import duckdb

    _copy_unchanged(path, copy)
    try:
        con = duckdb.connect(str(copy), read_only=True)
    except duckdb.Error as error:
        raise OSError(str(error).splitlines()[0]) from None
    try:
        names = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            ).fetchall()
        ]
        return _tables_and_parts(
            con, names, into, lambda name, file: _duckdb_table_to_parquet(con, name, file)
        )
    except duckdb.Error as error:
        raise OSError(str(error).splitlines()[0]) from None
    finally:
        con.close()


def _duckdb_table_to_parquet(con: duckdb.DuckDBPyConnection, table: str, target: Path) -> None:
    columns = {
        name
        for (name,) in con.execute(
            f"SELECT name FROM pragma_table_info({literal(table)})"
        ).fetchall()
    }
    exclude = f" EXCLUDE ({PART_COLUMN})" if PART_COLUMN in columns else ""
    con.execute(
        f"COPY (SELECT *{exclude} FROM main.{quote(table)}) TO {literal(str(target))} "
        "(FORMAT parquet)"
    )


def _copy_unchanged(path: Path, copy: Path) -> None:
    """Copy a DuckDB file and its log as they stand between two of the writer's commits."""
    for _ in range(COPY_ATTEMPTS):
        before = _signature(path)
        shutil.copyfile(path, copy)
        log = Path(f"{path}.wal")
        with contextlib.suppress(FileNotFoundError):
            shutil.copyfile(log, Path(f"{copy}.wal"))
        if _signature(path) == before:
            return
        with contextlib.suppress(FileNotFoundError):
            Path(f"{copy}.wal").unlink()
    raise OSError("it changed during every copy: a writer is busy with it; try again")


class _Connection(Protocol):
    def execute(self, sql: str, /) -> Any: ...


def _tables_and_parts(
    con: _Connection, names: list[str], into: Path, write: Callable[[str, Path], None]
) -> dict[str, object]:
    """Each table but the parts record written to Parquet by `write`, and the parts each
    output has (from that record, absent until a part is committed)."""
    tables = {}
    for index, name in enumerate(n for n in names if n != PARTS_TABLE):
        tables[name] = f"t{index}.parquet"
        write(name, into / tables[name])
    parts: dict[str, int] = {}
    if PARTS_TABLE in names:
        counted = con.execute(f"SELECT output, count(*) FROM {PARTS_TABLE} GROUP BY output")
        parts = {str(output): int(count) for output, count in counted.fetchall()}
    return {"tables": tables, "parts": parts}
