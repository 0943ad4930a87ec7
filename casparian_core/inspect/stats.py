"""Column statistics, distributions and samples of an output table, computed in DuckDB over the
locked-down read-only connection the catalogue opens (never by loading rows into Python).

- Statistics: one aggregate pass over the table for every column's null count and approximate
  distinct count (HyperLogLog: exact counting of a 10-million-row text column takes seconds);
  min and max one column at a time, which DuckDB answers from the Parquet footers' statistics
  without reading the data (asked together in the pass, they cost a full scan: 1.8 s of 3 on
  ten million rows); then, for the columns with few enough distinct values, one GROUP BY each
  for the top values. A column that is nearly all distinct has no meaningful top values and
  skips the GROUP BY, which is what keeps ten columns of ten million rows within a few seconds.
- Distributions: numbers in equal-width bins with round edges; dates and timestamps counted
  per period (year ... second, the finest giving at most `bins` periods, gaps included as
  zeros); anything else as its most frequent values, the rest summed in one bar.

Samples are the table's first rows (those a filter keeps), through the same read-only SELECT
check as any query. The functions here block: the facade runs them in a thread and interrupts
the connection when the awaiting task is cancelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from casparian_core.inspect.errors import QueryFailedError
from casparian_core.inspect.query import QueryResult, run_select
from casparian_core.inspect.sql import first_line
from casparian_core.sinks.base import quote_identifier as quote

if TYPE_CHECKING:
    import duckdb

TOP_VALUES = 5
# Above this many distinct values a column's top values are skipped (each value is rare, and a
# GROUP BY over millions of keys is the slow part of statistics).
TOP_VALUES_MAX_DISTINCT = 200_000
DEFAULT_BINS = 20
STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)  # round bin widths, times a power of ten
INTEGER_STEPS = (1.0, 2.0, 5.0, 10.0)  # 2.5 is no width for whole numbers
NON_FINITE_LABEL = "NaN/±inf"
OTHERS_LABEL = "(all others)"
SHOWN_VALUE_CHARS = 60  # a min, max or top value longer than this is cut, with an ellipsis

NUMERIC_TYPES = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
        "FLOAT",
        "DOUBLE",
    }
)
FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})
INTEGER_TYPES = NUMERIC_TYPES - FLOAT_TYPES
TEMPORAL_TYPES = frozenset(
    {
        "DATE",
        "TIMESTAMP",
        "TIMESTAMP_S",
        "TIMESTAMP_MS",
        "TIMESTAMP_NS",
        "TIMESTAMP WITH TIME ZONE",
    }
)
NESTED_MARKERS = ("[", "STRUCT", "MAP", "UNION")

# Period units, finest first, with their length in seconds (an average for months and years).
PERIODS = (
    ("second", 1.0),
    ("minute", 60.0),
    ("hour", 3600.0),
    ("day", 86400.0),
    ("week", 7 * 86400.0),
    ("month", 30.44 * 86400.0),
    ("quarter", 91.31 * 86400.0),
    ("year", 365.25 * 86400.0),
)
PERIOD_LABELS = {
    "second": "%Y-%m-%d %H:%M:%S",
    "minute": "%Y-%m-%d %H:%M",
    "hour": "%Y-%m-%d %H:00",
    "day": "%Y-%m-%d",
    "week": "%Y-%m-%d",  # the Monday the week starts on
    "month": "%Y-%m",
    "year": "%Y",
}


@dataclass(frozen=True)
class ColumnStats:
    name: str
    type: str  # DuckDB's type name
    null_pct: float  # 0-100
    distinct: int  # approximate (HyperLogLog), of the non-null values
    min: str | None  # as DuckDB writes the value; None for an empty column or nested types
    max: str | None
    top_values: list[tuple[str, int]]  # up to 5, most frequent first; [] when nearly all distinct


class DistributionKind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    TEMPORAL = "temporal"


@dataclass(frozen=True)
class Distribution:
    column: str
    kind: DistributionKind
    bins: list[tuple[str, int]]  # label, count: histogram bins, top categories, or periods
    total: int  # rows in the table
    nulls: int
    unit: str | None = None  # the period of a temporal distribution ("month"), else None


def column_stats(con: duckdb.DuckDBPyConnection, table: str) -> list[ColumnStats]:
    """Statistics of every column of `table` (module docstring)."""
    columns = describe(con, table)
    if not columns:
        return []
    aggregates = ["count(*)"]
    for name, kind in columns:
        aggregates.extend(_column_aggregates(quote(name), kind))
    row = _one_row(con, f"SELECT {', '.join(aggregates)} FROM {quote(table)}")
    rows = int(row[0])
    stats = []
    for index, (name, kind) in enumerate(columns):
        non_null, distinct = row[1 + 2 * index : 3 + 2 * index]
        low, high = _min_max(con, table, name, kind)
        nulls = rows - int(non_null)
        distinct = min(int(distinct), int(non_null))  # HyperLogLog may overshoot a little
        stats.append(
            ColumnStats(
                name=name,
                type=kind,
                null_pct=100.0 * nulls / rows if rows else 0.0,
                distinct=distinct,
                min=_shown(low),
                max=_shown(high),
                top_values=_top_values(con, table, name, distinct, int(non_null)),
            )
        )
    return stats


def distribution(
    con: duckdb.DuckDBPyConnection, table: str, column: str, *, bins: int = DEFAULT_BINS
) -> Distribution:
    """How `column`'s values spread (module docstring); QueryFailedError for an unknown column."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    kinds = dict(describe(con, table))
    if column not in kinds:
        raise QueryFailedError(
            f"Table {table!r} has no column {column!r}: its columns are {', '.join(kinds)}."
        )
    kind = column_kind(kinds[column])
    total, nulls = _total_and_nulls(con, table, column)
    if kind is DistributionKind.NUMERIC:
        found, unit = _numeric_bins(con, table, column, kinds[column], bins), None
    elif kind is DistributionKind.TEMPORAL:
        found, unit = _periods(con, table, column, bins)
    else:
        found, unit = _top_categories(con, table, column, bins, total - nulls), None
    return Distribution(column, kind, found, total, nulls, unit)


def sample(
    con: duckdb.DuckDBPyConnection, table: str, *, where: str | None = None, limit: int = 1000
) -> QueryResult:
    """The first `limit` rows of `table`, those for which `where` (a SQL condition) holds when
    one is given. The whole statement must still be one SELECT: a `where` that tries to end it
    and start another is refused, and the connection is read-only whatever it says."""
    condition = f" WHERE ({where})" if where and where.strip() else ""
    return run_select(con, f"SELECT * FROM {quote(table)}{condition}", max_rows=limit)


def column_kind(duckdb_type: str) -> DistributionKind:
    base = duckdb_type.upper()
    if base in NUMERIC_TYPES or base.startswith("DECIMAL"):
        return DistributionKind.NUMERIC
    if base in TEMPORAL_TYPES:
        return DistributionKind.TEMPORAL
    return DistributionKind.CATEGORICAL


def describe(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column of `table`."""
    return [(str(r[0]), str(r[1])) for r in _all_rows(con, f"DESCRIBE {quote(table)}")]


# Statistics.


def _column_aggregates(column: str, kind: str) -> list[str]:
    if _nested(kind):  # lists and structs: their distinct values counted as text
        return [f"count({column})", f"approx_count_distinct({column}::VARCHAR)"]
    return [f"count({column})", f"approx_count_distinct({column})"]


def _min_max(
    con: duckdb.DuckDBPyConnection, table: str, column: str, kind: str
) -> tuple[object, object]:
    if _nested(kind):  # no order worth showing
        return None, None
    name = quote(column)
    low, high = _one_row(
        con, f"SELECT min({name})::VARCHAR, max({name})::VARCHAR FROM {quote(table)}"
    )
    return low, high


def _nested(kind: str) -> bool:
    return any(marker in kind.upper() for marker in NESTED_MARKERS)


def _top_values(
    con: duckdb.DuckDBPyConnection, table: str, column: str, distinct: int, non_null: int
) -> list[tuple[str, int]]:
    if non_null == 0 or distinct > TOP_VALUES_MAX_DISTINCT or distinct >= non_null:
        return []
    found = _frequent(con, table, column, TOP_VALUES)
    # An approximate distinct count below the rows can still hide an all-distinct column.
    return [] if found and found[0][1] == 1 else found


def _frequent(
    con: duckdb.DuckDBPyConnection, table: str, column: str, limit: int
) -> list[tuple[str, int]]:
    name = quote(column)
    # Grouped on the values themselves, and only the few kept written as text: casting every
    # row to text first took five times as long on ten million numbers. Grouped and ordered by
    # position: a table's own column named like an alias (`value`, `n`) would win over it.
    rows = _all_rows(
        con,
        f"SELECT value::VARCHAR, n FROM (SELECT {name} AS value, count(*) AS n "
        f"FROM {quote(table)} WHERE {name} IS NOT NULL GROUP BY 1 "
        f"ORDER BY 2 DESC, 1 LIMIT {int(limit)}) ORDER BY 2 DESC, 1",
    )
    return [(_shown(value) or "", int(n)) for value, n in rows]


def _shown(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 1] + "…"


# Distributions.


def _total_and_nulls(con: duckdb.DuckDBPyConnection, table: str, column: str) -> tuple[int, int]:
    total, non_null = _one_row(con, f"SELECT count(*), count({quote(column)}) FROM {quote(table)}")
    return int(total), int(total) - int(non_null)


def _numeric_bins(
    con: duckdb.DuckDBPyConnection, table: str, column: str, kind: str, bins: int
) -> list[tuple[str, int]]:
    value = f"{quote(column)}::DOUBLE"
    if kind.upper() in FLOAT_TYPES:  # NaN and infinities get their own bar
        finite = f"{quote(column)} IS NOT NULL AND isfinite({value})"
        low, high, non_finite = _one_row(
            con,
            f"SELECT min({value}) FILTER ({finite}), max({value}) FILTER ({finite}), "
            f"count(*) FILTER ({quote(column)} IS NOT NULL AND NOT isfinite({value})) "
            f"FROM {quote(table)}",
        )
    else:  # whole numbers and decimals: min and max from the Parquet statistics
        finite, non_finite = f"{quote(column)} IS NOT NULL", 0
        low, high = _one_row(
            con,
            f"SELECT min({quote(column)})::DOUBLE, max({quote(column)})::DOUBLE FROM "
            f"{quote(table)}",
        )
    found: list[tuple[str, int]] = []
    if low is not None:
        integer = kind.upper() in INTEGER_TYPES
        start, width, count = histogram_edges(float(low), float(high), bins, integer=integer)
        counts = dict(
            _all_rows(
                con,
                f"SELECT least(floor(({value} - {start!r}) / {width!r})::BIGINT, {count - 1}) "
                f"AS bin, count(*) FROM {quote(table)} WHERE {finite} GROUP BY 1",
            )
        )
        found = [
            (_bin_label(start + i * width, width, integer), int(counts.get(i, 0)))
            for i in range(count)
        ]
    if non_finite:
        found.append((NON_FINITE_LABEL, int(non_finite)))
    return found


def histogram_edges(
    low: float, high: float, bins: int, *, integer: bool
) -> tuple[float, float, int]:
    """(first edge, bin width, number of bins): at most `bins` bins of a round width (1, 2, 2.5
    or 5 times a power of ten; whole and at least 1 for integer columns) covering low..high."""
    span = high - low
    if span <= 0:
        return low, 1.0, 1
    if integer and span < bins:  # few values: one bin each
        return low, 1.0, int(span) + 1
    steps = INTEGER_STEPS if integer else STEPS
    width = nice_width(span / bins, steps)
    while True:
        start = math.floor(low / width) * width
        # The last bin holds its upper edge: `high` on an edge adds no bin.
        count = max(1, math.ceil((high - start) / width - 1e-9))
        if count <= bins:
            return start, width, count
        width = nice_width(width * 1.001, steps)  # the first edge moved down: one step wider


def nice_width(raw: float, steps: tuple[float, ...] = STEPS) -> float:
    """The smallest round width (one of `steps` x 10^k) at least `raw`."""
    exponent = math.floor(math.log10(raw))
    for step in steps:
        width = step * 10.0**exponent
        if width >= raw * (1 - 1e-9):
            return width
    return 10.0 ** (exponent + 1)


def _bin_label(start: float, width: float, integer: bool) -> str:
    if integer and width == 1:
        return _number(start)
    return f"{_number(start)} – {_number(start + width)}"


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.6g}"


def _periods(
    con: duckdb.DuckDBPyConnection, table: str, column: str, bins: int
) -> tuple[list[tuple[str, int]], str | None]:
    name = quote(column)
    low, high = _one_row(
        con, f"SELECT min({name})::TIMESTAMP, max({name})::TIMESTAMP FROM {quote(table)}"
    )
    if low is None:
        return [], None
    unit = period_unit((high - low).total_seconds(), bins)
    counts = dict(
        _all_rows(
            con,
            f"SELECT date_trunc(?, {name}::TIMESTAMP) AS period, count(*) "
            f"FROM {quote(table)} WHERE {name} IS NOT NULL GROUP BY 1",
            [unit],
        )
    )
    # Every period from the first to the last, so gaps show as empty bars.
    (every,) = _one_row(
        con,
        f"SELECT range(date_trunc(?, ?::TIMESTAMP), date_trunc(?, ?::TIMESTAMP) + INTERVAL 1 "
        f"{unit}, INTERVAL 1 {unit})",  # `unit` is one of PERIODS' names, never user text
        [unit, low, unit, high],
    )
    return [(period_label(p, unit), int(counts.get(p, 0))) for p in every], unit


def period_unit(span_secs: float, bins: int) -> str:
    """The finest period that cuts a span of `span_secs` into at most `bins` periods."""
    for unit, length in PERIODS:
        if span_secs / length + 1 <= bins:
            return unit
    return PERIODS[-1][0]


def period_label(start: datetime | date, unit: str) -> str:
    if unit == "quarter":
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return start.strftime(PERIOD_LABELS[unit])


def _top_categories(
    con: duckdb.DuckDBPyConnection, table: str, column: str, bins: int, non_null: int
) -> list[tuple[str, int]]:
    found = _frequent(con, table, column, bins)
    rest = non_null - sum(n for _, n in found)
    return [*found, (OTHERS_LABEL, rest)] if rest > 0 else found


# DuckDB calls, with its errors as the inspect errors faces show.


def _all_rows(
    con: duckdb.DuckDBPyConnection, sql: str, parameters: list[object] | None = None
) -> list[tuple[Any, ...]]:
    import duckdb

    try:
        return con.execute(sql, parameters).fetchall()
    except duckdb.InterruptException:
        raise
    except duckdb.Error as exc:
        raise QueryFailedError(f"Statistics could not be computed: {first_line(exc)}") from None


def _one_row(
    con: duckdb.DuckDBPyConnection, sql: str, parameters: list[object] | None = None
) -> tuple[Any, ...]:
    return _all_rows(con, sql, parameters)[0]
