"""Dev mode without an `outputs` contract: a schema read off the parser's first batch.

The inferred contract is shown to the user (a starting point to paste into the parser), and
every column is nullable, so it never quarantines a row the parser meant to keep.
"""

from __future__ import annotations

import pyarrow as pa

from casparian_core.contracts.errors import IncompatibleColumn, SchemaMismatchError
from casparian_core.contracts.model import ColumnSpec, OutputSpec
from casparian_core.contracts.structure import MARKER_COLUMNS
from casparian_core.contracts.types import type_name_of

FLAT_TYPE = "a flat type (text, number, bool, date, time, timestamp, duration, binary)"


def infer_spec(batch: pa.RecordBatch | pa.Table, name: str) -> OutputSpec:
    """The contract `batch` fits as it is; raises `SchemaMismatchError` for nested columns."""
    columns: dict[str, ColumnSpec] = {}
    nested: list[IncompatibleColumn] = []
    for field in batch.schema:
        if field.name in MARKER_COLUMNS:
            continue
        # A column of nulls only has no type yet: text is the one that holds anything later.
        type_name = "string" if pa.types.is_null(field.type) else type_name_of(field.type)
        if type_name is None:
            nested.append(IncompatibleColumn(field.name, FLAT_TYPE, str(field.type)))
        else:
            columns[field.name] = ColumnSpec(type=type_name)
    if nested:
        raise SchemaMismatchError(name, [], [], nested)
    return OutputSpec(name=name, columns=columns)
