"""Lineage columns: every written row says which file, job and parser version produced it.

The values are the same on every row of a batch, so each column is dictionary-encoded with a
one-entry dictionary: a 4-byte index per row instead of a copy of a 64-character hash, and
Parquet stores it as a dictionary page either way.
"""

from __future__ import annotations

import pyarrow as pa

LINEAGE_COLUMNS = ("_cf_source_hash", "_cf_job_id", "_cf_parser", "_cf_parser_version")
QUARANTINE_CONTEXT_COLUMNS = ("source_path", "parser", "parser_version", "job_id")
LINEAGE_TYPE = pa.dictionary(pa.int32(), pa.string())


def add_lineage(
    table: pa.Table, *, source_hash: str, job_id: str, parser: str, parser_version: str
) -> pa.Table:
    """`table` with the four `_cf_` lineage columns appended."""
    values = (source_hash, job_id, parser, parser_version)
    return _append_constants(table, dict(zip(LINEAGE_COLUMNS, values, strict=True)))


def quarantine_table(
    q: pa.Table, *, source_path: str, job_id: str, parser: str, parser_version: str
) -> pa.Table:
    """Quarantined rows (`QUARANTINE_SCHEMA`) with the context a reader needs to act on them."""
    values = (source_path, parser, parser_version, job_id)
    return _append_constants(q, dict(zip(QUARANTINE_CONTEXT_COLUMNS, values, strict=True)))


def lineage_schema(schema: pa.Schema) -> pa.Schema:
    """The schema `add_lineage` gives a table of `schema`, without building a table."""
    return _append_fields(schema, LINEAGE_COLUMNS)


def quarantine_schema(schema: pa.Schema) -> pa.Schema:
    """The schema `quarantine_table` gives a table of `schema`, without building a table."""
    return _append_fields(schema, QUARANTINE_CONTEXT_COLUMNS)


def _constant_field(name: str) -> pa.Field:
    return pa.field(name, LINEAGE_TYPE, nullable=False)


def _append_fields(schema: pa.Schema, names: tuple[str, ...]) -> pa.Schema:
    for name in names:
        schema = schema.append(_constant_field(name))
    return schema


def _append_constants(table: pa.Table, columns: dict[str, str]) -> pa.Table:
    zeros = pa.repeat(pa.scalar(0, pa.int32()), table.num_rows)
    for name, value in columns.items():
        column = pa.DictionaryArray.from_arrays(zeros, pa.array([value], pa.string()))
        table = table.append_column(_constant_field(name), column)
    return table
