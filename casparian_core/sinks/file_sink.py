"""Folder sinks: one file per part, `DIR/{output}/part-{key}.{parquet|arrow}`.

A part is written as `DIR/.staging/{pid}-{uuid}.{suffix}` and published with one `os.replace`
after an fsync of the file, so readers (and a crash) see the old file or the new one, never half
of either. The folders whose entries changed are fsynced once, when the sink is closed, rather
than after every part: a crash before that may bring back the old part, never a broken one.
Staging files of processes that died are removed when the sink is opened.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from casparian_core.sinks.base import check_part_names, os_error_to_sink_error

STAGING_DIR = ".staging"
ROW_GROUP_ROWS = 1 << 20
ROW_GROUP_BYTES = 64 << 20


class _TableFileWriter(Protocol):
    def write_table(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class FileFormat:
    scheme: str
    suffix: str
    open_writer: Callable[[Path, pa.Schema], _TableFileWriter]


class _RowGroupBuffer:
    """A Parquet writer that gathers small batches into row groups of about ROW_GROUP_ROWS rows
    (at most ROW_GROUP_BYTES in memory): a row group per incoming batch would make files that
    are slower to write, larger, and slower to read."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")
        self._pending: list[pa.Table] = []
        self._rows = self._bytes = 0

    def write_table(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._rows += table.num_rows
        self._bytes += table.nbytes
        if self._rows >= ROW_GROUP_ROWS or self._bytes >= ROW_GROUP_BYTES:
            self._flush()

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending))
        self._pending, self._rows, self._bytes = [], 0, 0


PARQUET = FileFormat("parquet", ".parquet", _RowGroupBuffer)
ARROW_IPC = FileFormat("arrow", ".arrow", lambda path, schema: pa.ipc.new_file(path, schema))


class FileSink:
    def __init__(self, root: Path, file_format: FileFormat) -> None:
        self.root = root
        self.format = file_format
        self.uri = f"{file_format.scheme}://{root}"
        self._staging = root / STAGING_DIR
        self._made_folders: set[Path] = set()  # exist already: no mkdir per part
        self._unsynced_folders: set[Path] = set()  # hold renames not yet fsynced
        _remove_dead_staging(self._staging)

    def part_path(self, output: str, part_key: str) -> Path:
        return self.root / output / f"part-{part_key}{self.format.suffix}"

    def has_part(self, output: str, part_key: str) -> bool:
        check_part_names(output, part_key)
        return self.part_path(output, part_key).is_file()

    def begin(self, output: str, part_key: str, schema: pa.Schema) -> FilePartWriter:
        check_part_names(output, part_key)
        try:
            self._make_folder(self._staging)
        except OSError as error:
            raise os_error_to_sink_error(error, self.uri) from error
        staged = self._staging / f"{os.getpid()}-{uuid.uuid4().hex}{self.format.suffix}"
        writer = FilePartWriter(self, staged, self.part_path(output, part_key))
        writer.open(self.format, schema)
        return writer

    def location(self, output: str) -> str:
        return str(self.root / output)

    def close(self) -> None:
        """Make every part committed so far durable: fsync the folders they were renamed into."""
        while self._unsynced_folders:
            folder = self._unsynced_folders.pop()
            try:
                _fsync_path(folder)
            except OSError as error:
                raise os_error_to_sink_error(error, self.uri) from error

    def publish(self, staged: Path, destination: Path) -> None:
        """Move a complete, fsynced staging file over `destination` in one atomic step."""
        self._make_folder(destination.parent)
        os.replace(staged, destination)
        self._unsynced_folders.add(destination.parent)

    def _make_folder(self, folder: Path) -> None:
        if folder not in self._made_folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._made_folders.add(folder)


class FilePartWriter:
    def __init__(self, sink: FileSink, staged: Path, destination: Path) -> None:
        self._sink = sink
        self._staged = staged
        self._destination = destination
        self._writer: _TableFileWriter | None = None

    def open(self, file_format: FileFormat, schema: pa.Schema) -> None:
        with self._aborting_on_os_error():
            self._writer = file_format.open_writer(self._staged, schema)

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            raise RuntimeError("write() after commit() or abort()")
        with self._aborting_on_os_error():
            self._writer.write_table(table)

    def commit(self) -> None:
        if self._writer is None:
            raise RuntimeError("commit() after commit() or abort()")
        with self._aborting_on_os_error():
            writer, self._writer = self._writer, None
            writer.close()
            _fsync_path(self._staged)
            self._sink.publish(self._staged, self._destination)

    def abort(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(OSError, pa.ArrowException):
                writer.close()
        self._staged.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _aborting_on_os_error(self) -> Iterator[None]:
        try:
            yield
        except OSError as error:
            self.abort()
            raise os_error_to_sink_error(error, self._sink.uri) from error


def _fsync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to disk before depending on them."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_dead_staging(staging_root: Path) -> None:
    """Staging entries are named `{pid}-{uuid}...`; those whose process is gone are litter."""
    if not staging_root.is_dir():
        return
    for entry in staging_root.iterdir():
        pid_text = entry.name.partition("-")[0]
        if pid_text.isdigit() and not psutil.pid_exists(int(pid_text)):
            entry.unlink(missing_ok=True)
