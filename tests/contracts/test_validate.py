"""validate_batch: structural mismatches fail with a diff; bad values quarantine their row."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from casparian_core.contracts import validate
from casparian_core.contracts.errors import SchemaMismatchError, ValidationFailedError
from casparian_core.contracts.model import OutputSpec, parse_outputs
from casparian_core.contracts.validate import QUARANTINE_SCHEMA, infer_spec, validate_batch
from casparian_core.errors import ErrorCode


def contract(columns: dict[str, object]) -> OutputSpec:
    return parse_outputs({"sales": columns}, "parsers/sales.py")["sales"]


SALES = contract(
    {
        "id": {"type": "int64", "nullable": False, "min": 0},
        "region": {"type": "string", "allowed": ["EU", "US"]},
        "amount": {"type": "float64", "max": 1000},
        "day": {"type": "date", "format": "%Y/%m/%d"},
        "code": {"type": "string", "pattern": "^[A-Z]+$", "max_length": 3},
    }
)
GOOD_ROW = {"id": "1", "region": "EU", "amount": 5.0, "day": "2026/11/27", "code": "ABC"}


def sales_batch(*changes: dict[str, object]) -> pa.Table:
    """One row per change: a good row with the changed values."""
    return pa.Table.from_pylist([{**GOOD_ROW, **change} for change in changes])


def test_a_clean_batch_is_cast_to_the_contract_in_contract_order() -> None:
    table = pa.table(
        {
            "code": ["ABC", "XY"],
            "day": ["2026/11/27", "2026/01/02"],
            "amount": [1.5, None],
            "region": ["EU", None],
            "id": ["7", "8"],
        }
    )

    result = validate_batch(table, SALES, row_offset=0)

    assert result.valid.schema == SALES.arrow_schema()
    assert result.valid.to_pylist() == [
        {"id": 7, "region": "EU", "amount": 1.5, "day": date(2026, 11, 27), "code": "ABC"},
        {"id": 8, "region": None, "amount": None, "day": date(2026, 1, 2), "code": "XY"},
    ]
    assert result.quarantined.schema == QUARANTINE_SCHEMA
    assert result.quarantined.num_rows == 0
    assert not result.reasons


@pytest.mark.parametrize(
    ("change", "column", "rule", "reason"),
    [
        ({"id": None}, "id", "not_null", "value is missing (column is not nullable)"),
        ({"id": "abc"}, "id", "type", "'abc' is not a valid int64"),
        ({"id": "99999999999999999999"}, "id", "type", "'99999999999999999999' is not a valid"),
        ({"id": "-5"}, "id", "min", "value -5 is below min 0"),
        ({"amount": 1000.5}, "amount", "max", "value 1000.5 is above max 1000"),
        ({"region": "XX"}, "region", "allowed", "'XX' is not one of: 'EU', 'US'"),
        ({"code": "abc"}, "code", "pattern", "'abc' does not match pattern '^[A-Z]+$'"),
        ({"code": "ABCD"}, "code", "max_length", "value is 4 characters, over max_length 3"),
        ({"day": "27.11.2026"}, "day", "format", "'27.11.2026' does not match format '%Y/%m/%d'"),
    ],
)
def test_each_broken_rule_quarantines_only_its_row(
    change: dict[str, object], column: str, rule: str, reason: str
) -> None:
    table = sales_batch({}, change, {})

    result = validate_batch(table, SALES, row_offset=10)

    assert result.valid.num_rows == 2
    [quarantined] = result.quarantined.to_pylist()
    assert quarantined["row_index"] == 11
    assert (quarantined["column"], quarantined["rule"]) == (column, rule)
    assert quarantined["reason"].startswith(reason)
    assert json.loads(quarantined["row_json"]) == {**GOOD_ROW, **change}
    assert result.reasons == {f"{column}: {rule}": 1}


def test_the_first_broken_rule_in_contract_order_names_the_row() -> None:
    table = sales_batch({"id": "-1", "region": "XX", "code": "toolong"})

    [quarantined] = validate_batch(table, SALES, row_offset=0).quarantined.to_pylist()

    assert (quarantined["column"], quarantined["rule"]) == ("id", "min")


def test_nulls_in_nullable_columns_never_drop_or_quarantine_rows() -> None:
    table = sales_batch({"region": None, "amount": None, "day": None, "code": None})

    result = validate_batch(table, SALES, row_offset=0)

    assert result.valid.num_rows == 1
    assert result.quarantined.num_rows == 0


def test_rows_flagged_by_the_parser_use_its_reason_and_source_row() -> None:
    table = sales_batch({}, {"id": "-1"}, {}).append_column(
        "_cf_row_error", pa.array([None, None, "line has 3 fields, expected 5"])
    )
    table = table.append_column("_cf_source_row", pa.array([40, 41, 42]))

    result = validate_batch(table, SALES, row_offset=0)

    assert result.valid.column_names == list(SALES.columns)
    assert result.quarantined.select(["row_index", "column", "rule", "reason"]).to_pylist() == [
        {"row_index": 41, "column": "id", "rule": "min", "reason": "value -1 is below min 0"},
        {
            "row_index": 42,
            "column": None,
            "rule": "parser",
            "reason": "line has 3 fields, expected 5",
        },
    ]
    assert result.reasons == {"id: min": 1, "parser: line has 3 fields, expected 5": 1}
    assert "_cf_row_error" not in json.loads(result.quarantined["row_json"][1].as_py())


def test_bad_values_among_many_are_isolated_in_every_chunk() -> None:
    spec = contract({"n": "int64", "t": "timestamp[us]"})
    ids = [str(i) for i in range(5000)]
    ids[17], ids[4321] = "9223372036854775808", "x"  # an overflow no regex sees, and text
    stamps = ["2026-11-27T10:00:00"] * 5000
    stamps[999] = "2026-02-30T10:00:00"  # well-formed, but no such day
    table = pa.Table.from_batches(
        [
            pa.record_batch({"n": ids[:2500], "t": stamps[:2500]}),
            pa.record_batch({"n": ids[2500:], "t": stamps[2500:]}),
        ]
    )

    result = validate_batch(table, spec, row_offset=0)

    assert result.quarantined.column("row_index").to_pylist() == [17, 999, 4321]
    assert result.valid.num_rows == 4997
    assert result.valid.column("n").to_pylist()[:3] == [0, 1, 2]


def test_float_to_integer_keeps_whole_values_and_quarantines_fractions() -> None:
    spec = contract({"n": "int8"})
    table = pa.table({"n": [1.0, 2.5, 300.0, None]})

    result = validate_batch(table, spec, row_offset=0)

    assert result.valid.column("n").to_pylist() == [1, None]
    assert result.quarantined.column("reason").to_pylist() == [
        "'2.5' is not a valid int8",
        "'300' is not a valid int8",
    ]


def test_text_timestamps_with_a_format_become_wall_time_in_the_column_zone() -> None:
    spec = contract(
        {
            "ts": {
                "type": "timestamp[us, Europe/Paris]",
                "format": "%Y-%m-%d %H:%M",
                "min": "2026-01-01T00:00:00+01:00",
            }
        }
    )
    table = pa.table({"ts": ["2026-06-01 12:00", "2025-06-01 12:00", "noon"]})

    result = validate_batch(table, spec, row_offset=0)

    [valid] = result.valid.column("ts").to_pylist()
    assert valid.isoformat() == "2026-06-01T12:00:00+02:00"
    assert result.quarantined.column("rule").to_pylist() == ["min", "format"]


def test_date_bounds_and_typed_timestamps_pass_through() -> None:
    spec = contract({"d": {"type": "date", "max": "2026-12-31"}, "t": "timestamp[ms]"})
    table = pa.table(
        {
            "d": pa.array([date(2026, 1, 1), date(2027, 1, 1)]),
            "t": pa.array([datetime(2026, 1, 1), datetime(2026, 1, 2)], pa.timestamp("ms")),
        }
    )

    result = validate_batch(table, spec, row_offset=0)

    assert result.valid.num_rows == 1
    assert result.reasons == {"d: max": 1}


def test_structural_mismatch_lists_every_column_with_suggestions() -> None:
    table = pa.table(
        {
            "id": [1],
            "regoin": ["EU"],
            "amt": ["5"],
            "day": [b"2026"],
            "code": [["A"]],
            "extra": [1],
        }
    )

    with pytest.raises(SchemaMismatchError) as caught:
        validate_batch(table, SALES, row_offset=0)

    error = caught.value
    assert error.error_code == "SCHEMA_MISMATCH"
    assert [(c.name, c.suggestion) for c in error.missing] == [
        ("region", "regoin"),
        ("amount", "amt"),
    ]
    assert [c.name for c in error.incompatible] == ["day", "code"]
    assert {c.name for c in error.extra} == {"regoin", "amt", "extra"}
    message = str(error)
    assert "column 'amount' not found; did you mean 'amt'?" in message
    assert "expected 'amount' float64, got 'amt' string" in message
    assert "expected 'day' date, got 'day' binary" in message
    assert "unexpected column 'extra' (int64)" in message


def test_a_batch_of_another_shape_after_good_ones_is_still_checked() -> None:
    # What the contract alone decides is worked out once; each new batch schema is checked.
    for _ in range(2):
        assert validate_batch(sales_batch({}), SALES, row_offset=0).valid.num_rows == 1

    with pytest.raises(SchemaMismatchError, match=r"column 'code' \(string\) not found"):
        validate_batch(sales_batch({}).drop_columns(["code"]), SALES, row_offset=0)
    assert validate_batch(sales_batch({"region": "XX"}), SALES, row_offset=0).reasons == {
        "region: allowed": 1
    }


def test_zoned_and_naive_timestamps_never_convert_into_each_other() -> None:
    spec = contract({"t": "timestamp[us]"})
    table = pa.table({"t": pa.array([0], pa.timestamp("us", tz="UTC"))})

    with pytest.raises(SchemaMismatchError, match="expected 't' timestamp"):
        validate_batch(table, spec, row_offset=0)


def test_markers_of_the_wrong_type_are_a_structural_error() -> None:
    table = sales_batch({}).append_column("_cf_source_row", pa.array(["first"]))

    with pytest.raises(SchemaMismatchError) as caught:
        validate_batch(table, SALES, row_offset=0)

    assert [c.name for c in caught.value.incompatible] == ["_cf_source_row"]


def test_a_record_batch_and_an_empty_batch_are_accepted() -> None:
    batch = pa.record_batch({"id": pa.array([], pa.string())})
    spec = contract({"id": "int64"})

    result = validate_batch(batch, spec, row_offset=0)

    assert result.valid.schema == spec.arrow_schema()
    assert result.valid.num_rows == 0


def test_infer_spec_reads_the_first_batch_and_skips_markers() -> None:
    table = pa.table(
        {
            "n": pa.array([1], pa.int32()),
            "s": pa.array(["x"]).dictionary_encode(),
            "t": pa.array([0], pa.timestamp("ns", tz="UTC")),
            "empty": pa.array([None]),
            "_cf_row_error": pa.array([None], pa.string()),
        }
    )

    spec = infer_spec(table, "events")

    assert spec.name == "events"
    assert {name: column.type for name, column in spec.columns.items()} == {
        "n": "int32",
        "s": "string",
        "t": "timestamp[ns, UTC]",
        "empty": "string",
    }
    assert validate_batch(table, spec, row_offset=0).valid.num_rows == 1


def test_infer_spec_names_nested_columns_and_refuses_maps() -> None:
    table = pa.table({"tags": [["a", "b"]], "who": [{"name": "Ada", "age": 3}]})

    spec = infer_spec(table, "events")

    assert {name: column.type for name, column in spec.columns.items()} == {
        "tags": "list<string>",
        "who": "struct<name: string, age: int64>",
    }
    with pytest.raises(SchemaMismatchError, match="expected 'tags' a contract type"):
        infer_spec(
            pa.table({"tags": pa.array([[("a", 1)]], pa.map_(pa.string(), pa.int64()))}), "e"
        )


def test_impossible_days_are_refused_not_rolled_over_to_the_next_month() -> None:
    spec = contract({"d": {"type": "date", "format": "%Y-%m-%d"}})
    table = pa.table({"d": ["2026-02-30", "2024-02-29", "2026-04-31", "2026-3-1", "2026-02-29"]})

    result = validate_batch(table, spec, row_offset=0)

    assert result.valid.column("d").to_pylist() == [date(2024, 2, 29), date(2026, 3, 1)]
    assert result.quarantined.column("row_index").to_pylist() == [0, 2, 4]
    assert set(result.quarantined.column("rule").to_pylist()) == {"format"}


@pytest.mark.parametrize(
    ("type_name", "arrived", "valid"),
    [
        ("bool", ["true", "FALSE", "0", "yes"], [True, False, False]),
        ("uint8", ["0", "255", "256", "-1"], [0, 255]),
        ("float32", ["1.5", "1e3", "nan?", "inf"], [1.5, 1000.0, float("inf")]),
        ("decimal(5,2)", ["1.25", "-3", "1.255", "12345"], ["1.25", "-3.00"]),
        ("time", ["10:15", "10:15:30.5", "25:00", "noon"], ["10:15:00", "10:15:30.500000"]),
        ("duration[s]", ["90", "-5", "1m"], [90, -5]),
        ("timestamp[ms, UTC]", ["2026-11-27T10:00:00Z", "2026-11-27 10:00"], ["10:00"]),
    ],
)
def test_text_converts_value_by_value_into_each_type(
    type_name: str, arrived: list[str], valid: list[object]
) -> None:
    spec = contract({"c": type_name})

    result = validate_batch(pa.table({"c": arrived}), spec, row_offset=0)

    values = result.valid.column("c")
    shown = {
        "decimal(5,2)": lambda: [str(value) for value in values.to_pylist()],
        "time": lambda: [value.isoformat() for value in values.to_pylist()],
        "duration[s]": lambda: [value.total_seconds() for value in values.to_pylist()],
        "timestamp[ms, UTC]": lambda: [value.strftime("%H:%M") for value in values.to_pylist()],
    }.get(type_name, values.to_pylist)()
    assert shown == valid
    assert result.quarantined.num_rows == len(arrived) - len(valid)
    assert set(result.quarantined.column("rule").to_pylist()) <= {"type"}


@pytest.mark.parametrize(
    ("type_name", "sent", "kept", "reason"),
    [
        # Both used to raise a raw ArrowInvalid from the range pre-check and end the run.
        ("int64", pa.array([1.5, 2.0]), [2], "'1.5' is not a valid int64"),
        (
            "int64",
            pa.array([1, 2**63], pa.uint64()),
            [1],
            "'9223372036854775808' is not a valid int64",
        ),
        ("float32", pa.array(["1e40", "2.5"]), [2.5], "'1e40' would change to inf in float32"),
        ("float64", pa.array(["1e-400", "0"]), [0.0], "'1e-400' would change to 0 in float64"),
        (
            "decimal(12,2)",
            pa.array([0.005, 0.1]),
            [Decimal("0.10")],
            "'0.005' would change to 0.01 in decimal(12,2)",
        ),
        ("decimal(12,2)", pa.array(["1E-903", "0E+5"]), [Decimal("0.00")], "'1E-903' would"),
        (
            "float32",
            pa.array([1 / 3, 0.1]),
            [0.10000000149011612],
            "'0.3333333333333333' would change to 0.33333334 in float32",
        ),
        (
            "float64",
            pa.array([Decimal("12345678901234567.891"), Decimal("1.255")]),
            [1.255],  # not Arrow's 1.2550000000000001: decimals are read as their text
            "'12345678901234567.891' would change to 1.2345678901234568e+16 in float64",
        ),
        ("decimal(3,2)", pa.array([5, 1234]), [Decimal("5.00")], "'1234' is not a valid"),
        ("duration[s]", pa.array([7, None], pa.int8()), [timedelta(seconds=7), None], None),
    ],
)
def test_a_value_the_cast_would_change_is_quarantined_never_written_changed(
    type_name: str, sent: pa.Array, kept: list[object], reason: str | None
) -> None:
    result = validate_batch(pa.table({"c": sent}), contract({"c": type_name}), row_offset=0)

    assert result.valid.column("c").to_pylist() == kept
    assert [row["reason"].startswith(reason) for row in result.quarantined.to_pylist()] == (
        [] if reason is None else [True]
    )


def test_an_unexpected_error_inside_validation_is_a_typed_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(values: pa.ChunkedArray, spec: object) -> None:
        raise pa.ArrowNotImplementedError("no kernel for this pair")

    monkeypatch.setattr(validate, "convert_column", broken)

    with pytest.raises(ValidationFailedError, match="no kernel for this pair") as caught:
        validate_batch(pa.table({"c": ["1"]}), contract({"c": "int64"}), row_offset=0)

    assert caught.value.error_code == ErrorCode.VALIDATION_ERROR
