"""safe_to_arrow: turn whatever a parser returned into a pyarrow Table without losing rows.

Runs in the guest, so it imports only pyarrow and the standard library (pandas and polars results
are recognised by their type, never imported here). A column that will not convert as it is
becomes a string column — the contract decides later whether those strings are valid — and
missing values stay nulls, never the strings "None" or "nan".
"""

from __future__ import annotations

import math
import sys
from typing import Any

import pyarrow as pa

SUPPORTED = "a pyarrow Table or RecordBatch, a pandas or polars DataFrame, or a list of dicts"
SIZE_SAMPLE_ROWS = 100


class UnsupportedTypeError(TypeError):
    """The parser produced something safe_to_arrow cannot convert."""


def safe_to_arrow(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if _is_dataframe(data, "pandas"):
        return _from_pandas(data)
    if _is_dataframe(data, "polars"):
        return data.to_arrow()
    if isinstance(data, list) and all(isinstance(row, dict) for row in data):
        return _from_rows(data)
    raise UnsupportedTypeError(
        f"parse produced a value of type {type(data).__name__!r}; return {SUPPORTED}"
    )


def estimate_nbytes(data: Any) -> int:
    """Roughly how many bytes `data` holds, before conversion (for the OOM_RISK check)."""
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return data.nbytes
    if _is_dataframe(data, "pandas"):
        return int(data.memory_usage(index=False, deep=True).sum())
    if _is_dataframe(data, "polars"):
        return int(data.estimated_size())
    if isinstance(data, list) and data:
        # Measuring every row would cost as much as converting: measure a sample and scale it.
        sample = data[:SIZE_SAMPLE_ROWS]
        per_row = sum(_row_size(row) for row in sample) / len(sample)
        return int(per_row * len(data)) + sys.getsizeof(data)
    return 0


def _row_size(row: Any) -> int:
    if not isinstance(row, dict):
        return sys.getsizeof(row)
    return sys.getsizeof(row) + sum(sys.getsizeof(value) for value in row.values())


def _is_dataframe(data: Any, library: str) -> bool:
    kind = type(data)
    return kind.__name__ == "DataFrame" and kind.__module__.split(".")[0] == library


def _from_pandas(frame: Any) -> pa.Table:
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        pass
    # Some column holds mixed types: convert column by column so only those become strings.
    import pandas  # the parser already imported it, so this costs nothing

    columns = {}
    for name in frame.columns:
        series = frame[name]
        values = [
            None if pandas.api.types.is_scalar(value) and pandas.isna(value) else value
            for value in series.tolist()
        ]
        columns[str(name)] = _to_array(values)
    return pa.table(columns)


def _from_rows(rows: list[dict[Any, Any]]) -> pa.Table:
    names: dict[Any, None] = {}  # first-seen order of keys over all rows
    for row in rows:
        names.update(dict.fromkeys(row))
    return pa.table({str(name): _to_array([row.get(name) for row in rows]) for name in names})


def _to_array(values: list[Any]) -> pa.Array:
    try:
        # from_pandas=True turns float NaN into null, so "missing" never arrives as NaN.
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return pa.array([None if _is_missing(value) else str(value) for value in values])


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
