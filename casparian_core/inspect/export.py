"""Export a table or a query's rows to Parquet or CSV, batch by batch with progress.

The rows go to a hidden file beside the target, renamed over it only once whole: a failure (a
folder that cannot be written, a full disk) or a cancel leaves no partial file. The rows are
read through the locked-down connection (it cannot write files itself: the file is written here).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.inspect.errors import ExportFailedError, QueryFailedError
from casparian_core.inspect.sql import check_read_only, first_line
from casparian_core.sinks.base import quote_identifier

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

BATCH_ROWS = 65_536

Progress = Callable[[int], object]


class ExportFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    bytes: int


def export_rows(
    con: duckdb.DuckDBPyConnection,
    source: str,
    tables: set[str],
    path: Path,
    fmt: ExportFormat,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the rows of `source` (a name in `tables`, else one SELECT) to `path`. Blocking."""
    import duckdb

    sql = f"SELECT * FROM {quote_identifier(source)}" if source in tables else source
    try:
        check_read_only(con, sql)
        reader = con.sql(sql).to_arrow_reader(BATCH_ROWS)
    except duckdb.InterruptException:
        raise
    except duckdb.Error as exc:
        raise QueryFailedError(f"The rows to export could not be read: {first_line(exc)}") from None
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        rows = _write(reader, staging, fmt, progress)
        os.replace(staging, path)
    except OSError as exc:
        raise ExportFailedError(
            f"Could not write {path}: {exc.strerror or exc}; choose a folder you can write to "
            "with room for the file."
        ) from None
    finally:
        with contextlib.suppress(OSError):  # never written, or its folder is not one
            staging.unlink()
    return ExportResult(path, rows, path.stat().st_size)


def _write(
    reader: pa.RecordBatchReader, target: Path, fmt: ExportFormat, progress: Progress | None
) -> int:
    import pyarrow.csv as csv
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | csv.CSVWriter
    if fmt is ExportFormat.PARQUET:
        writer = pq.ParquetWriter(str(target), reader.schema)
    else:
        writer = csv.CSVWriter(str(target), reader.schema)
    rows = 0
    with writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
            if progress is not None:
                progress(rows)
    return rows
