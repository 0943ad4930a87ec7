"""Lineage columns: every written row says which file, job and parser version produced it.

The values are the same on every row of an input, so each column is dictionary-encoded with a
one-entry dictionary: a 4-byte index per row instead of a copy of a 64-character hash, and
Parquet stores it as a dictionary page either way. The dictionaries are built once per input,
not per batch, and the schemas once per process. The arrays are built from their buffers, never
converted from Python values: pyarrow imports pandas for its first conversion (~0.15 s of CPU),
and a worker writing rows that arrive in their contract's types never needs it.
"""

from __future__ import annotations

import array
import functools
import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

LINEAGE_COLUMNS = ("_cf_source_hash", "_cf_job_id", "_cf_parser", "_cf_parser_version")
QUARANTINE_CONTEXT_COLUMNS = ("source_path", "parser", "parser_version", "job_id")
SHARED_INDICES = 1 << 20  # rows of the zeros kept for batches up to that size (4 MiB)


class ConstantColumns:
    """Columns with one value on every row, appended to each batch of one input."""

    def __init__(self, values: dict[str, str]) -> None:
        self._names = tuple(values)
        # One array cut into one-entry dictionaries: building each value's alone costs more.
        strings = _string_array(list(values.values()))
        self._dictionaries = [strings.slice(index, 1) for index in range(len(values))]

    def schema_for(self, schema: pa.Schema) -> pa.Schema:
        """The schema `append_to` gives a table of `schema`, without building a table."""
        # Schemas compare equal whatever their metadata: the metadata is part of the key.
        return _appended(schema, tuple((schema.metadata or {}).items()), self._names)

    def append_to(self, table: pa.Table) -> pa.Table:
        import pyarrow as pa

        indices = _first_entries(table.num_rows)
        columns = [pa.DictionaryArray.from_arrays(indices, entry) for entry in self._dictionaries]
        return pa.Table.from_arrays(
            [*table.columns, *columns], schema=self.schema_for(table.schema)
        )


def _first_entries(rows: int) -> pa.Int32Array:
    """`rows` zeros: every row's index into its one-entry dictionary. A slice of one shared
    array rather than a buffer allocated and filled per batch and column (0.06 s over a big
    file's 5 M rows); batches longer than the shared array get their own."""
    if rows > SHARED_INDICES:
        return _zeros(rows)
    return _shared_zeros().slice(0, rows)


@functools.cache
def _shared_zeros() -> pa.Int32Array:
    """Made on first use, not on import: a command that writes no rows never needs it."""
    return _zeros(SHARED_INDICES)


def _zeros(rows: int) -> pa.Int32Array:
    import pyarrow as pa

    zeros: pa.Int32Array = pa.Array.from_buffers(
        pa.int32(), rows, [None, pa.py_buffer(bytes(4 * rows))]
    )
    return zeros


def _string_array(values: list[str]) -> pa.StringArray:
    """`values` as an Arrow string array, from a buffer of their UTF-8 and one of its offsets."""
    import pyarrow as pa

    encoded = [value.encode("utf-8") for value in values]
    offsets = array.array("i", itertools.accumulate(map(len, encoded), initial=0))
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    strings: pa.StringArray = pa.Array.from_buffers(pa.string(), len(values), buffers)
    return strings


@functools.lru_cache(maxsize=64)
def _appended(
    schema: pa.Schema, metadata: tuple[tuple[bytes, bytes], ...], names: tuple[str, ...]
) -> pa.Schema:
    """`schema` with the constant columns `names`; every input of an output has the same."""
    import pyarrow as pa

    lineage_type = pa.dictionary(pa.int32(), pa.string())
    for name in names:
        schema = schema.append(pa.field(name, lineage_type, nullable=False))
    return schema


def lineage(*, source_hash: str, job_id: str, parser: str, parser_version: str) -> ConstantColumns:
    """The four `_cf_` lineage columns of valid rows."""
    values = (source_hash, job_id, parser, parser_version)
    return ConstantColumns(dict(zip(LINEAGE_COLUMNS, values, strict=True)))


def quarantine_context(
    *, source_path: str, job_id: str, parser: str, parser_version: str
) -> ConstantColumns:
    """The context quarantined rows (`QUARANTINE_SCHEMA`) carry, for a reader to act on them."""
    values = (source_path, parser, parser_version, job_id)
    return ConstantColumns(dict(zip(QUARANTINE_CONTEXT_COLUMNS, values, strict=True)))
