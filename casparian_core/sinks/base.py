"""What every sink offers the engine: parts written in a stream and committed atomically.

A part is everything one input produced for one output under one parser version; its key comes
from the engine. Committing a part replaces the part with the same key (a rerun never duplicates
rows) and a part that is aborted, or whose process dies, leaves no trace. The engine commits one
input's parts together (`Sink.commit_together`), which a sink may finish in the background.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Protocol

from casparian_core.errors import CasparianError, ErrorCode

if TYPE_CHECKING:
    import pyarrow as pa

PART_COLUMN = "_cf_part"  # table sinks: which part a row belongs to
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)
_NOT_A_FOLDER = (errno.ENOTDIR, errno.EEXIST)


class SinkError(CasparianError):
    """The output cannot be written where the user asked; the message names the target and
    what to do."""

    error_code = ErrorCode.SINK_ERROR


class PartWriter(Protocol):
    def write(self, table: pa.Table) -> None:
        """Append rows to the part; called many times, so memory stays bounded."""

    def commit(self) -> None:
        """Publish the part atomically, replacing an existing part with the same key."""

    def abort(self) -> None:
        """Drop what was written; an existing part with the same key is left untouched."""


class Sink(Protocol):
    uri: str

    def has_part(self, output: str, part_key: str) -> bool: ...

    def begin(self, output: str, part_key: str, schema: pa.Schema) -> PartWriter: ...

    def commit_together(self, parts: Sequence[PartWriter]) -> Future[None]:
        """Commit one input's parts, possibly finishing in the background. Raises SinkError, or
        fails the returned future with one, after aborting whatever of them is not published."""

    def location(self, output: str) -> str:
        """Where the user finds the output."""

    def close(self) -> None:
        """Finish pending commits and make every committed part durable; a sink may defer
        that from commit to here."""


def commit_in_turn(parts: Sequence[PartWriter]) -> Future[None]:
    """`commit_together` for sinks whose commit is a durable transaction already: commit the
    parts now, one after the other; on failure abort those not committed and raise."""
    try:
        for part in parts:
            part.commit()
    finally:
        for part in parts:
            part.abort()  # does nothing to a committed part
    done: Future[None] = Future()
    done.set_result(None)
    return done


def check_part_names(output: str, part_key: str) -> None:
    """Output names and part keys become file and table names: refuse anything path-like."""
    for what, value in (("output name", output), ("part key", part_key)):
        if not _SAFE_NAME.match(value):
            raise ValueError(f"{what} {value!r} may hold only letters, digits, '_', '.' and '-'")


def os_error_to_sink_error(error: OSError, target: str) -> SinkError:
    """A write failure as the user should read it: what happened to `target`, what to do."""
    if error.errno in _FULL:
        return SinkError(
            f"{target}: the disk is full or a file size limit was reached while writing; "
            "free some space or choose another --sink"
        )
    if error.errno in _DENIED:
        return SinkError(f"{target}: permission denied; choose a writable --sink location")
    if error.errno in _NOT_A_FOLDER:
        return SinkError(
            f"{target}: part of the path is a file, not a folder; choose another --sink location"
        )
    return SinkError(f"{target}: could not write ({error}); check the location and free space")


def quote_identifier(name: str) -> str:
    """A table or column name quoted for SQLite and DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def table_mismatch_error(
    target: str, table: str, existing: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> SinkError:
    def show(columns: list[tuple[str, str]]) -> str:
        return ", ".join(f"{name} {column_type}" for name, column_type in columns)

    return SinkError(
        f"{target}: table '{table}' has columns ({show(existing)}) but this output writes "
        f"({show(expected)}); write to another file or drop the table"
    )
