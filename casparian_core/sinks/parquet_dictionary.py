"""Which columns of a Parquet part are dictionary-encoded, judged once from its first rows.

pyarrow dictionary-encodes every column by default and falls back to plain encoding for a column
whose dictionary outgrows its page limit (1 MiB) within a row group. For a column of mostly
distinct values (ids, timestamps, measurements, free text) that attempt is pure cost: each row
group hashes values until the dictionary is full, then stores that dictionary page beside the
plain pages. On issue 16's 5 M-row CSV (four such columns of five, plus the lineage columns) it
was a third of the encode's CPU (0.97 s against 0.64 s) and made the file 29% larger (39.2
against 30.4 MB). So the first row group is sampled: a top-level column whose sample holds mostly
distinct values is written plain from the start; every other column keeps its dictionary (few
distinct values, dictionary arrays such as the lineage columns, nested columns, booleans).
Values are never changed either way: only how Parquet stores them.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

SAMPLE_ROWS = 16_384  # below this, a dictionary rarely fills its page: the default is kept
MOSTLY_DISTINCT = 0.5  # share of distinct values among a sample's non-null values


def dictionary_columns(first: pa.Table) -> list[str] | bool:
    """The leaf column paths to dictionary-encode in a part whose first row group is `first`
    (pq.ParquetWriter's `use_dictionary`); True (every column) when none is mostly distinct
    or `first` is too short to tell."""
    if first.num_rows < SAMPLE_ROWS:
        return True
    sample = first.slice(0, SAMPLE_ROWS)
    keep = [
        not _mostly_distinct(field.type, sample.column(index))
        for index, field in enumerate(first.schema)
    ]
    if all(keep):
        return True
    return [
        path
        for field, kept in zip(first.schema, keep, strict=True)
        if kept
        for path in leaf_paths(field.name, field.type)
    ]


def leaf_paths(name: str, arrow_type: pa.DataType) -> list[str]:
    """The dotted paths of the Parquet leaf columns a top-level column becomes (the names of
    pyarrow's compliant nested types: `list.element`, `key_value.key`)."""
    if pa.types.is_struct(arrow_type):
        return [
            path for field in arrow_type for path in leaf_paths(f"{name}.{field.name}", field.type)
        ]
    if pa.types.is_map(arrow_type):
        return leaf_paths(f"{name}.key_value.key", arrow_type.key_type) + leaf_paths(
            f"{name}.key_value.value", arrow_type.item_type
        )
    if (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    ):
        return leaf_paths(f"{name}.list.element", arrow_type.value_type)
    return [name]


def _mostly_distinct(arrow_type: pa.DataType, values: pa.ChunkedArray) -> bool:
    if (
        pa.types.is_dictionary(arrow_type)
        or pa.types.is_nested(arrow_type)
        or pa.types.is_boolean(arrow_type)
    ):
        return False
    present = len(values) - values.null_count
    if not present:
        return False
    try:
        distinct = pc.count_distinct(values).as_py()
    except pa.ArrowNotImplementedError:  # a type Arrow cannot hash (string_view, extensions)
        return False
    return distinct > MOSTLY_DISTINCT * present
