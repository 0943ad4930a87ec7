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

CONTRACT_TYPE = (
    "a contract type (text, number, bool, date, time, timestamp, duration, binary, list, struct)"
)


def infer_spec(batch: pa.RecordBatch | pa.Table, name: str) -> OutputSpec:
    """The contract `batch` fits as it is; raises `SchemaMismatchError` for columns no contract
    type holds (maps, unions, lists of nothing but nulls)."""
    columns: dict[str, ColumnSpec] = {}
    unheld: list[IncompatibleColumn] = []
    for field in batch.schema:
        if field.name in MARKER_COLUMNS:
            continue
        # A column of nulls only has no type yet: text is the one that holds anything later.
        type_name = "string" if pa.types.is_null(field.type) else type_name_of(field.type)
        if type_name is None:
            unheld.append(IncompatibleColumn(field.name, CONTRACT_TYPE, str(field.type)))
        else:
            columns[field.name] = ColumnSpec(type=type_name)
    if unheld:
        raise SchemaMismatchError(name, [], [], unheld)
    return OutputSpec(name=name, columns=columns)
