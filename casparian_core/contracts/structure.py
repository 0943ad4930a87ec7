"""The structural check: does a batch have the contract's columns, in types that can convert?

Structure is all-or-nothing (a misnamed column fails the job with a diff); values are per row
(a bad value quarantines its row). Column order does not matter: output follows the contract.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from casparian_core.contracts.errors import (
    ExtraColumn,
    IncompatibleColumn,
    MissingColumn,
    SchemaMismatchError,
)
from casparian_core.contracts.model import OutputSpec
from casparian_core.contracts.types import describe_arrow_type

if TYPE_CHECKING:
    import pyarrow as pa

ROW_ERROR_COLUMN = "_cf_row_error"  # text set by the parser on rows it knows are bad
SOURCE_ROW_COLUMN = "_cf_source_row"  # the row's number in the input file, for quarantine
MARKER_COLUMNS = (ROW_ERROR_COLUMN, SOURCE_ROW_COLUMN)


def check_structure(schema: pa.Schema, spec: OutputSpec) -> None:
    """Raise `SchemaMismatchError` listing every missing, extra and incompatible column."""
    # Imported here: this module is imported by code that never checks a batch (the backfill
    # plan's contract diff, and with it every command's start), and pyarrow with its compute
    # functions takes ~0.1 s, which `casparian process` would pay before it starts its guest.
    from casparian_core.contracts.casting import is_convertible

    present = {field.name: field.type for field in schema}
    extra = [
        ExtraColumn(name, describe_arrow_type(arrow_type))
        for name, arrow_type in present.items()
        if name not in spec.columns and name not in MARKER_COLUMNS
    ]
    unclaimed = [column.name for column in extra]
    missing = []
    for name, column in spec.columns.items():
        if name not in present:
            match = difflib.get_close_matches(name, unclaimed, n=1, cutoff=0.6)
            if match:
                unclaimed.remove(match[0])
            missing.append(MissingColumn(name, column.type, match[0] if match else None))
    incompatible = [
        IncompatibleColumn(name, column.type, describe_arrow_type(present[name]))
        for name, column in spec.columns.items()
        if name in present and not is_convertible(present[name], column.column_type)
    ]
    incompatible += _wrong_markers(present)
    if missing or extra or incompatible:
        raise SchemaMismatchError(spec.name, missing, extra, incompatible)


def _wrong_markers(present: dict[str, pa.DataType]) -> list[IncompatibleColumn]:
    import pyarrow as pa

    wrong = []
    row_error = present.get(ROW_ERROR_COLUMN)
    if row_error is not None and not (
        pa.types.is_null(row_error)
        or pa.types.is_string(row_error)
        or pa.types.is_large_string(row_error)
    ):
        wrong.append(IncompatibleColumn(ROW_ERROR_COLUMN, "string", describe_arrow_type(row_error)))
    source_row = present.get(SOURCE_ROW_COLUMN)
    if source_row is not None and not (
        pa.types.is_null(source_row) or pa.types.is_integer(source_row)
    ):
        wrong.append(
            IncompatibleColumn(SOURCE_ROW_COLUMN, "int64", describe_arrow_type(source_row))
        )
    return wrong
