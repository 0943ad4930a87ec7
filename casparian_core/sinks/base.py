"""What every sink offers the engine: parts written in a stream and committed atomically.

A part is everything one input produced for one output in its latest successful run; its key
comes from the engine (from the input's key: where the input lives). Committing a part replaces
the part with the same key (a rerun never adds rows) and records with it the `PartInfo` it was
begun with, which `Sink.committed` returns (the engine skips an input whose part holds the same
content hash and parser version). A part that is aborted, or whose process dies, leaves no
trace. The engine commits one input's parts together (`Sink.commit_together`), which a sink may
finish in the background. An output keeps one schema: a part whose columns differ from those of
the output's other parts is refused (`OutputSchemaError`).
"""

from __future__ import annotations

import errno
import json
import re
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
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


class OutputSchemaError(SinkError):
    """The rows of this run have other columns than those the output already holds."""

    error_code = ErrorCode.OUTPUT_SCHEMA_CHANGED


@dataclass(frozen=True)
class PartInfo:
    """What a committed part is of: which input (its key), which content, which parser version."""

    input_key: str
    source_hash: str
    parser_version: str

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    def as_dict(self) -> dict[str, str]:
        # Not dataclasses.asdict, which deep-copies each field (~25 us a part).
        return {
            "input_key": self.input_key,
            "source_hash": self.source_hash,
            "parser_version": self.parser_version,
        }

    @classmethod
    def from_json(cls, text: str | bytes) -> PartInfo | None:
        """None for text that is not a PartInfo (a part written before parts recorded it)."""
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return None


class PartWriter(Protocol):
    def write(self, table: pa.Table) -> None:
        """Append rows to the part; called many times, so memory stays bounded."""

    def commit(self) -> None:
        """Publish the part atomically, replacing an existing part with the same key."""

    def abort(self) -> None:
        """Drop what was written; an existing part with the same key is left untouched."""


class Sink(Protocol):
    uri: str

    def committed(self, output: str, part_key: str) -> PartInfo | None:
        """What the output's committed part with this key is of; None when there is none (or
        its part predates PartInfo records)."""

    def has_part(self, output: str, part_key: str) -> bool:
        """Whether the output has a committed part with this key."""

    def begin(self, output: str, part_key: str, schema: pa.Schema, info: PartInfo) -> PartWriter:
        """A part to stream rows into; raises OutputSchemaError when the output's other parts
        have other columns."""

    def begin_removal(self, output: str, part_key: str) -> PartWriter:
        """A part whose commit removes the output's part with this key (a rerun produced no
        rows for an output whose schema it does not know)."""

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


def schema_changed_error(
    target: str, output: str, existing: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> OutputSchemaError:
    def show(columns: list[tuple[str, str]]) -> str:
        return ", ".join(f"{name} {column_type}" for name, column_type in columns)

    return OutputSchemaError(
        f"{target}: output '{output}' holds rows with columns ({show(existing)}) but this run "
        f"writes ({show(expected)}); an output keeps one schema: write to a new --sink, or "
        "backfill every input with this parser version into a new sink"
    )
