"""Column statistics, distributions and samples (inspect/stats.py) on real Parquet, through the
locked-down read-only connection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.config import load_settings
from casparian_core.inspect import stats
from casparian_core.inspect.catalog import open_catalog
from casparian_core.inspect.errors import QueryFailedError
from casparian_core.inspect.stats import (
    NON_FINITE_LABEL,
    OTHERS_LABEL,
    TOP_VALUES_MAX_DISTINCT,
    DistributionKind,
    histogram_edges,
    period_unit,
)

ROWS = 1000


def _orders() -> pa.Table:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return pa.table(
        {
            "id": pa.array(range(ROWS), pa.int64()),
            "amount": pa.array([None if i % 10 == 0 else i * 0.5 for i in range(ROWS)]),
            "region": pa.array(
                [["north", "south", "east"][i % 3] if i % 4 else None for i in range(ROWS)]
            ),
            # March has no rows: the gap shows as an empty month.
            "ordered_at": pa.array(
                [
                    start + timedelta(days=(i % 60) + (59 if i % 60 >= 59 else 0))
                    for i in range(ROWS)
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "day": pa.array([date(2026, 1, 1) + timedelta(days=i % 3) for i in range(ROWS)]),
            "price": pa.array(
                [Decimal("1.25") * (i % 8) for i in range(ROWS)], pa.decimal128(10, 2)
            ),
            "tags": pa.array([["a", "b"][: i % 3] for i in range(ROWS)], pa.list_(pa.string())),
            "empty": pa.array([None] * ROWS, pa.string()),
        }
    )


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    output = tmp_path / "output"
    for name, table in (
        ("orders", _orders()),
        ("readings", pa.table({"value": [1.0, float("nan"), float("inf"), 2.0, 3.0, None]})),
        ("nothing", pa.table({"x": pa.array([], pa.int32())})),
    ):
        (output / name).mkdir(parents=True)
        pq.write_table(table, output / name / "part-0.parquet")
    connection = _catalog(output)
    yield connection
    connection.close()


def test_statistics_of_every_column_in_its_order(con: duckdb.DuckDBPyConnection) -> None:
    found = {c.name: c for c in stats.column_stats(con, "orders")}
    assert list(found) == ["id", "amount", "region", "ordered_at", "day", "price", "tags", "empty"]
    amount = found["amount"]
    assert amount.type == "DOUBLE" and amount.null_pct == pytest.approx(10.0)
    assert (amount.min, amount.max) == ("0.5", "499.5")
    region = found["region"]
    assert region.null_pct == pytest.approx(25.0) and region.distinct == 3
    assert (region.min, region.max) == ("east", "south")
    # The most frequent first, ties by value; nulls are not a value (null_pct counts them).
    assert region.top_values == [("east", 250), ("north", 250), ("south", 250)]
    assert found["price"].type == "DECIMAL(10,2)" and found["price"].max == "8.75"
    assert found["day"].top_values[0] == ("2026-01-01", 334)


def test_nearly_all_distinct_columns_have_no_top_values(con: duckdb.DuckDBPyConnection) -> None:
    found = {c.name: c for c in stats.column_stats(con, "orders")}
    # Every id once: "top values" would be five arbitrary ids with a count of one.
    assert found["id"].top_values == [] and found["id"].distinct == pytest.approx(ROWS, rel=0.05)
    assert (found["id"].min, found["id"].max) == ("0", "999")


def test_empty_and_nested_columns(con: duckdb.DuckDBPyConnection) -> None:
    found = {c.name: c for c in stats.column_stats(con, "orders")}
    empty = found["empty"]
    assert empty.null_pct == 100.0 and empty.distinct == 0
    assert (empty.min, empty.max, empty.top_values) == (None, None, [])
    tags = found["tags"]  # a list: no min or max, its distinct lists counted
    assert tags.type == "VARCHAR[]" and (tags.min, tags.max) == (None, None)
    assert tags.distinct == 3 and tags.top_values[0][1] == 334
    (x,) = stats.column_stats(con, "nothing")
    assert (x.null_pct, x.distinct, x.min, x.top_values) == (0.0, 0, None, [])


def test_long_values_are_cut(tmp_path: Path) -> None:
    output = tmp_path / "output"
    (output / "notes").mkdir(parents=True)
    pq.write_table(
        pa.table({"text": ["x" * 500, "y" * 500, "x" * 500]}), output / "notes" / "p.parquet"
    )
    con = _catalog(output)
    (text,) = stats.column_stats(con, "notes")
    assert text.max is not None and len(text.max) == stats.SHOWN_VALUE_CHARS
    assert text.max.endswith("…") and text.top_values[0] == (text.min, 2)


def test_a_numeric_histogram_with_round_bins(con: duckdb.DuckDBPyConnection) -> None:
    found = stats.distribution(con, "orders", "amount", bins=10)
    assert found.kind is DistributionKind.NUMERIC and found.unit is None
    assert (found.total, found.nulls) == (ROWS, 100)
    # 0.5 .. 499.5 in ten bins of 50: each holds 100 values less its nulls (every tenth id).
    assert [label for label, _ in found.bins][:2] == ["0 – 50", "50 – 100"]
    assert len(found.bins) == 10 and sum(n for _, n in found.bins) == ROWS - 100
    assert found.bins[0][1] == 90


def test_integers_with_few_values_get_a_bin_each(con: duckdb.DuckDBPyConnection) -> None:
    found = stats.distribution(con, "orders", "id", bins=2000)
    assert len(found.bins) == ROWS and found.bins[7] == ("7", 1)


def test_non_finite_floats_get_their_own_bar(con: duckdb.DuckDBPyConnection) -> None:
    found = stats.distribution(con, "readings", "value", bins=4)
    assert found.bins[-1] == (NON_FINITE_LABEL, 2) and found.nulls == 1
    assert sum(n for _, n in found.bins[:-1]) == 3


def test_decimals_are_numbers(con: duckdb.DuckDBPyConnection) -> None:
    found = stats.distribution(con, "orders", "price", bins=4)
    assert found.kind is DistributionKind.NUMERIC
    assert found.bins == [("0 – 2.5", 250), ("2.5 – 5", 250), ("5 – 7.5", 250), ("7.5 – 10", 250)]


def test_text_shows_its_top_categories_and_the_rest_in_one_bar(
    con: duckdb.DuckDBPyConnection,
) -> None:
    found = stats.distribution(con, "orders", "region", bins=2)
    assert found.kind is DistributionKind.CATEGORICAL and found.nulls == 250
    assert found.bins == [("east", 250), ("north", 250), (OTHERS_LABEL, 250)]


def test_timestamps_by_period_with_gaps_as_zero(con: duckdb.DuckDBPyConnection) -> None:
    found = stats.distribution(con, "orders", "ordered_at")
    assert found.kind is DistributionKind.TEMPORAL and found.unit == "week"
    monthly = stats.distribution(con, "orders", "ordered_at", bins=5)
    assert monthly.unit == "month"
    assert [label for label, _ in monthly.bins] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert monthly.bins[2] == ("2026-03", 0) and sum(n for _, n in monthly.bins) == ROWS
    days = stats.distribution(con, "orders", "day")
    assert days.unit == "day" and days.bins == [
        ("2026-01-01", 334),
        ("2026-01-02", 333),
        ("2026-01-03", 333),
    ]


def test_an_unknown_column_or_table_is_a_clear_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryFailedError, match="has no column 'nope': its columns are id, amount"):
        stats.distribution(con, "orders", "nope")
    with pytest.raises(QueryFailedError, match="could not be computed"):
        stats.column_stats(con, "no_such_table")


@pytest.mark.parametrize(
    ("low", "high", "bins", "integer", "expected"),
    [
        (0.0, 100.0, 10, False, (0.0, 10.0, 10)),  # the maximum sits on the last edge
        (3.0, 97.0, 10, False, (0.0, 10.0, 10)),
        (0.0, 1.0, 20, False, (0.0, 0.05, 20)),
        (-7.0, 7.0, 4, False, (-10.0, 5.0, 4)),
        (0.0, 9.0, 20, True, (0.0, 1.0, 10)),  # few whole numbers: one bin each
        (0.0, 50.0, 20, True, (0.0, 5.0, 10)),  # whole numbers never get a width of 2.5
        (9.0, 100.5, 10, False, (0.0, 20.0, 6)),  # ten bins of 10 from 0 miss 100.5: wider
        (5.0, 5.0, 20, False, (5.0, 1.0, 1)),
    ],
)
def test_histogram_edges(
    low: float, high: float, bins: int, integer: bool, expected: tuple[float, float, int]
) -> None:
    start, width, count = histogram_edges(low, high, bins, integer=integer)
    assert (start, width, count) == pytest.approx(expected)
    assert count <= bins and start <= low and start + width * count >= high


def test_the_period_is_the_finest_that_fits() -> None:
    day = 86400.0
    assert period_unit(30.0, 20) == "minute"  # 31 seconds would be too many bars
    assert period_unit(10 * day, 20) == "day"
    assert period_unit(365 * day, 20) == "month"
    assert period_unit(4 * 365 * day, 20) == "quarter"
    assert period_unit(300 * 365 * day, 20) == "year"  # never coarser than years


def test_many_distinct_values_skip_the_group_by(tmp_path: Path) -> None:
    output = tmp_path / "output"
    (output / "wide").mkdir(parents=True)
    many = TOP_VALUES_MAX_DISTINCT * 2
    # Each value twice: not all distinct, but too many to group for the top five.
    pq.write_table(
        pa.table({"k": [i // 2 for i in range(many * 2)]}), output / "wide" / "p.parquet"
    )
    (k,) = stats.column_stats(_catalog(output), "wide")
    assert k.top_values == [] and k.distinct > TOP_VALUES_MAX_DISTINCT


def _catalog(output: Path) -> duckdb.DuckDBPyConnection:
    """The locked-down catalogue connection over the home whose output folder is `output`."""
    return open_catalog(load_settings(env={}, home=output.parent))


def test_columns_named_like_the_queries_aliases(tmp_path: Path) -> None:
    # Columns named `value`, `n`, `bin` and `period` beside others: grouping by an alias of the
    # same name bound to the table's column and failed every statistic.
    output = tmp_path / "output"
    (output / "readings").mkdir(parents=True)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    table = pa.table(
        {
            "id": pa.array([1, 2, 2, 3, 3, 3], pa.int64()),
            "value": pa.array([7, 7, 8, 8, 8, 9], pa.int64()),
            "n": pa.array(["a", "a", "b", "b", "b", "c"]),
            "bin": pa.array([1.0, 2.0, 2.0, 3.0, 3.0, 3.0]),
            "period": pa.array([start + timedelta(days=d) for d in (0, 0, 1, 1, 1, 40)]),
        }
    )
    pq.write_table(table, output / "readings" / "part-0.parquet")
    con = _catalog(output)

    found = {column.name: column for column in stats.column_stats(con, "readings")}
    numeric = stats.distribution(con, "readings", "bin", bins=3)
    periods = stats.distribution(con, "readings", "period", bins=3)

    assert found["id"].top_values == [("3", 3), ("2", 2), ("1", 1)]
    assert found["value"].top_values == [("8", 3), ("7", 2), ("9", 1)]
    assert found["n"].top_values == [("b", 3), ("a", 2), ("c", 1)]
    assert sum(count for _, count in numeric.bins) == 6
    assert sum(count for _, count in periods.bins) == 6
