"""A Parquet part file written in row groups, encoded off the engine's thread.

The engine's thread gathers streamed batches into row groups of about ROW_GROUP_ROWS rows; a full
row group goes to a thread of the part's own, which encodes, compresses and writes it (pyarrow
releases the GIL meanwhile) while the next one fills. Written in the engine's thread, each row
group took ~1 s during which the host read nothing from the guest, which stalled once its few
queued messages were sent. At most WAITING_ROW_GROUPS full row groups wait for the thread, so
host memory stays bounded whatever the input size (DESIGN §11). An error of the thread's write (a
full disk, a file size limit) is raised in the engine's thread at its next write or at close.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from casparian_core.sinks.parquet_dictionary import dictionary_columns

ROW_GROUP_ROWS = 1 << 20
ROW_GROUP_BYTES = 64 << 20
WAITING_ROW_GROUPS = 1
# A part smaller than this (one small input's rows) is compressed with snappy, not zstd: setting
# up zstd's context cost more than the whole encode of a 50-row part (0.21 against 0.09 ms of
# CPU), for ~3% smaller files at that size. Values are the same either way.
SMALL_PART_BYTES = 64 << 10


class ParquetPartFile:
    """Gathers small batches into row groups (a row group per incoming batch would make files
    that are slower to write, larger, and slower to read). A part that never fills a row group
    (one small input) is encoded in memory at close, and its bytes are returned for the caller
    to write: opening a file writer, and a thread, costs more than encoding a few rows."""

    def __init__(self, path: Path, schema: pa.Schema, file_schema: Callable[[], pa.Schema]) -> None:
        self._path = path
        self._schema = schema
        self._file_schema = file_schema  # what a file of it records (made when one is written)
        self._background: _RowGroupWriter | None = None  # started by the first full row group
        self._pending: list[pa.Table] = []
        self._rows = self._bytes = 0

    def write_table(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._rows += table.num_rows
        self._bytes += table.nbytes
        if self._rows >= ROW_GROUP_ROWS or self._bytes >= ROW_GROUP_BYTES:
            row_group = self._take_row_group()
            if self._background is None:
                writer = _parquet_writer(self._path, self._file_schema(), row_group)
                self._background = _RowGroupWriter(writer)
            self._background.put(row_group)

    @property
    def bytes_in_memory(self) -> int | None:
        """The size of the rows written while none went to the file (a small part)."""
        return self._bytes if self._background is None else None

    def take_rows(self) -> pa.Table:
        """The rows of a part that never filled a row group, unencoded, instead of its file
        (for a bundle, sinks/parquet_bundle.py)."""
        assert self._background is None
        return self._take_row_group() if self._pending else self._schema.empty_table()

    def close(self) -> pa.Buffer | None:
        """Finish the part: None once the file is complete on disk, or the whole file's bytes
        when it never filled a row group (the file is then not created)."""
        if self._background is not None:
            if self._pending:
                self._background.put(self._take_row_group())
            self._background.close()
            return None
        encoded = pa.BufferOutputStream()
        row_group = self._take_row_group() if self._pending else None
        first = self._schema.empty_table() if row_group is None else row_group
        with _parquet_writer(encoded, self._file_schema(), first) as writer:
            if row_group is not None:
                writer.write_table(row_group)
        return encoded.getvalue()

    def abort(self) -> None:
        """Drop the rows not written yet and stop the thread; the caller removes the file."""
        self._pending = []
        if self._background is not None:
            self._background.abort()

    def _take_row_group(self) -> pa.Table:
        row_group = pa.concat_tables(self._pending)  # no copy: the batches become its chunks
        self._pending, self._rows, self._bytes = [], 0, 0
        return row_group


class _RowGroupWriter:
    """A thread that writes the row groups handed to it, in order, with one ParquetWriter.

    After a failed write it keeps taking row groups (and drops them), so the engine's thread
    never blocks on a full queue; it learns of the error at its next `put` or at `close`.
    The thread is a daemon: a part neither closed nor aborted is never published anyway, and
    its staging file is swept when a later process opens the sink.
    """

    def __init__(self, writer: pq.ParquetWriter) -> None:
        self._writer = writer
        self._row_groups: queue.Queue[pa.Table | None] = queue.Queue(WAITING_ROW_GROUPS)
        self._error: Exception | None = None
        self._dropping = False  # set by abort: the row groups still queued are not written
        self._thread = threading.Thread(target=self._run, name="casparian-row-groups", daemon=True)
        self._thread.start()

    def put(self, row_group: pa.Table) -> None:
        """Queue a row group, waiting while WAITING_ROW_GROUPS others wait already."""
        self._raise_error()
        self._row_groups.put(row_group)

    def close(self) -> None:
        """Write every queued row group, then the file's footer."""
        self._stop()
        self._raise_error()
        self._writer.close()

    def abort(self) -> None:
        """Stop once the row group being written (if any) is done, dropping the rest."""
        self._dropping = True
        self._stop()
        with contextlib.suppress(OSError, pa.ArrowException):
            self._writer.close()  # releases the file; already closed after a failed write

    def _stop(self) -> None:
        self._row_groups.put(None)
        self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (row_group := self._row_groups.get()) is not None:
            if self._error is not None or self._dropping:
                continue
            try:
                self._writer.write_table(row_group)
            except Exception as error:  # raised in the engine's thread, never lost here
                self._error = error
                with contextlib.suppress(OSError, pa.ArrowException):
                    self._writer.close()


def _parquet_writer(
    where: Path | pa.NativeFile, schema: pa.Schema, first: pa.Table
) -> pq.ParquetWriter:
    """A writer for the part whose first row group is `first` (its encoding is chosen from it;
    a part that is all small takes the cheaper compression)."""
    dictionary = dictionary_columns(first)
    compression = "snappy" if first.nbytes < SMALL_PART_BYTES else "zstd"
    return pq.ParquetWriter(where, schema, compression=compression, use_dictionary=dictionary)
