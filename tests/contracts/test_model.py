"""Reading `outputs` literals into contracts, and refusing malformed ones with one clear message."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from casparian_core.contracts.errors import ContractError
from casparian_core.contracts.model import parse_outputs

SOURCE = "parsers/auth.py"
AUTH_OUTPUTS = {
    "auth_events": {
        "ts": {"type": "timestamp[us]", "nullable": False, "format": "%b %d %H:%M:%S"},
        "host": {"type": "string", "nullable": False},
        "pid": {"type": "int64", "nullable": True, "min": 0},
        "msg": {"type": "string", "nullable": False, "max_length": 4096},
    }
}


def test_the_issue_example_reads_into_an_ordered_arrow_schema() -> None:
    spec = parse_outputs(AUTH_OUTPUTS, SOURCE)["auth_events"]

    assert spec.arrow_schema() == pa.schema(
        [
            pa.field("ts", pa.timestamp("us"), nullable=False),
            pa.field("host", pa.string(), nullable=False),
            pa.field("pid", pa.int64()),
            pa.field("msg", pa.string(), nullable=False),
        ]
    )
    assert spec.columns["pid"].min == 0
    assert spec.max_quarantine_pct is None


def test_compact_sugar_bare_types_and_quarantine_ceiling() -> None:
    spec = parse_outputs({"t": {"host": "string", "n": "int32", "_max_quarantine_pct": 5}}, SOURCE)[
        "t"
    ]

    assert spec.columns["host"].nullable is True
    assert spec.arrow_schema().field("n").type == pa.int32()
    assert spec.max_quarantine_pct == 5


@pytest.mark.parametrize(
    ("type_name", "arrow_type"),
    [
        ("timestamp[ms, UTC]", pa.timestamp("ms", tz="UTC")),
        ("timestamp", pa.timestamp("us")),
        ("duration", pa.duration("us")),
        ("duration[s]", pa.duration("s")),
        ("decimal(12, 2)", pa.decimal128(12, 2)),
        ("decimal(40,4)", pa.decimal256(40, 4)),
        ("uint16", pa.uint16()),
        ("date", pa.date32()),
        ("time", pa.time64("us")),
        ("binary", pa.binary()),
        ("bool", pa.bool_()),
    ],
)
def test_every_type_name_maps_to_its_arrow_type(type_name: str, arrow_type: pa.DataType) -> None:
    spec = parse_outputs({"t": {"c": type_name}}, SOURCE)["t"]

    assert spec.columns["c"].arrow_type() == arrow_type


def test_schema_json_is_canonical_keeps_column_order_and_reads_back() -> None:
    spec = parse_outputs(AUTH_OUTPUTS, SOURCE)["auth_events"]
    reordered_keys = {
        "auth_events": {
            name: dict(reversed(column.items()))
            for name, column in AUTH_OUTPUTS["auth_events"].items()
        }
    }

    document = json.loads(spec.schema_json())
    assert list(document) == ["ts", "host", "pid", "msg"]
    assert list(document["ts"]) == sorted(document["ts"])
    assert parse_outputs(reordered_keys, SOURCE)["auth_events"].schema_hash() == spec.schema_hash()
    assert parse_outputs({"auth_events": document}, SOURCE)["auth_events"] == spec


def test_column_order_changes_the_hash() -> None:
    first = parse_outputs({"t": {"a": "int64", "b": "string"}}, SOURCE)["t"]
    swapped = parse_outputs({"t": {"b": "string", "a": "int64"}}, SOURCE)["t"]

    assert first.schema_hash() != swapped.schema_hash()


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ([], "parsers/auth.py: outputs must be a non-empty dict"),
        ({"t": {"pid": "int65"}}, "outputs['t']['pid']: unknown type 'int65' (expected one of: "),
        ({"t": {"pid": {"type": "int64", "maxx": 3}}}, "outputs['t']['pid']: unknown key 'maxx'"),
        ({"t": {"pid": {"type": "int64", "min": 5, "max": 1}}}, "min 5 is greater than max 1"),
        ({"t": {"p": {"type": "string", "pattern": "(a"}}}, "'pattern' '(a' is not a valid"),
        ({"t": {"p": {"type": "string", "pattern": "(?<=a)b"}}}, "not a valid regular expression"),
        ({"t": {"p": {"type": "int64", "format": "%Y"}}}, "'format' applies only to date"),
        ({"t": {"p": "int64", "P": "string"}}, "outputs['t']['P']: clashes with column 'p'"),
        ({"t": {"p": {"type": "int64", "nullable": "yes"}}}, "'nullable': input should be a valid"),
        ({"t": {"p": {"nullable": True}}}, "outputs['t']['p']: missing 'type'"),
        ({"t": {"p": "int64", "_max_quarantine_pct": 300}}, "must be a number from 0 to 100"),
        ({"t": {"p": "int64", "_strict": True}}, "unknown option '_strict'"),
        ({"t": {"d": {"type": "date", "min": "2024-13-01"}}}, "'2024-13-01' is not ISO date"),
        ({"t": {"d": {"type": "int64", "min": "0"}}}, "bounds of a int64 column are numbers"),
        ({"t": {"s": {"type": "string", "allowed": [1, 2]}}}, "'allowed' values must all be"),
        ({"t": {"s": {"type": "string", "min": 1}}}, "'min'/'max' apply to numeric"),
        ({"t": {"s": {"type": "int8", "max_length": 3}}}, "'max_length' applies only to string"),
        ({"t": {"s": "timestamp[us, Mars/Olympus]"}}, "unknown time zone 'Mars/Olympus'"),
        ({"t_quarantine": {"s": "string"}}, "names ending in '_quarantine' are kept"),
        ({"T": {"s": "string"}, "t": {"s": "string"}}, "outputs['t']: clashes with output 'T'"),
        ({"bad name": {"s": "string"}}, "an output name must start with a letter"),
        ({"t": {}}, "outputs['t']: must be a non-empty dict"),
        ({"t": {"c": 5}}, "a column is a type name or a dict with 'type', got 5"),
    ],
)
def test_malformed_outputs_raise_one_message_naming_file_output_and_column(
    outputs: object, message: str
) -> None:
    with pytest.raises(ContractError) as caught:
        parse_outputs(outputs, SOURCE)

    assert str(caught.value).startswith(SOURCE + ": ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
