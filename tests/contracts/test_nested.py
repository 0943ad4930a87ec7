"""list<…> and struct<…> contract types: read from `outputs`, checked structurally, and a row
whose nested value would not convert exactly is quarantined whole."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
import pytest

from casparian_core.contracts.errors import ContractError, SchemaMismatchError
from casparian_core.contracts.model import OutputSpec, parse_outputs
from casparian_core.contracts.validate import validate_batch


def contract(type_name: str, **rules: object) -> OutputSpec:
    return parse_outputs({"o": {"c": {"type": type_name, **rules}}}, "parsers/p.py")["o"]


@pytest.mark.parametrize(
    ("written", "canonical", "arrow_type"),
    [
        ("list<int64>", "list<int64>", pa.list_(pa.int64())),
        (
            "struct< name :string,age: int32 >",
            "struct<name: string, age: int32>",
            pa.struct([("name", pa.string()), ("age", pa.int32())]),
        ),
        (
            "list<struct<at: timestamp[ms, UTC], price: decimal(12,2), tags: list<string>>>",
            "list<struct<at: timestamp[ms, UTC], price: decimal(12,2), tags: list<string>>>",
            pa.list_(
                pa.struct(
                    [
                        ("at", pa.timestamp("ms", "UTC")),
                        ("price", pa.decimal128(12, 2)),
                        ("tags", pa.list_(pa.string())),
                    ]
                )
            ),
        ),
    ],
)
def test_nested_type_names_are_read_and_made_canonical(
    written: str, canonical: str, arrow_type: pa.DataType
) -> None:
    spec = contract(written)

    assert spec.columns["c"].type == canonical
    assert spec.arrow_schema().field("c").type == arrow_type


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("list<>", "a list holds one item type"),
        ("list<int64, string>", "a list holds one item type"),
        ("struct<age int32>", "'name: type' fields"),
        ("struct<a: int64, a: string>", "struct field 'a' appears twice"),
        ("list<int64", "unknown type"),
        ("list<int64]>", "unbalanced ']'"),
        ("list<float128>", "unknown type 'float128'"),
    ],
)
def test_malformed_nested_types_are_refused_when_the_contract_is_read(
    written: str, message: str
) -> None:
    with pytest.raises(ContractError, match=message):
        contract(written)


def test_value_rules_do_not_apply_to_nested_columns() -> None:
    with pytest.raises(ContractError, match="'min'/'max' apply to numeric"):
        contract("list<int64>", min=0)
    with pytest.raises(ContractError, match="'max_length' applies only"):
        contract("list<string>", max_length=3)


def test_a_row_with_one_item_that_would_not_cast_exactly_is_quarantined_whole() -> None:
    sent = pa.array([[1.0, 2.0], [1.5], None, [], [None, 3.0], [2.0**63]])

    result = validate_batch(pa.table({"c": sent}), contract("list<int64>"), row_offset=0)

    assert result.valid.column("c").to_pylist() == [[1, 2], None, [], [None, 3]]
    assert result.quarantined.column("row_index").to_pylist() == [1, 5]
    [first, second] = result.quarantined.to_pylist()
    assert (first["column"], first["rule"]) == ("c", "type")
    assert first["reason"] == "c[0]: '1.5' is not a valid int64"
    assert second["reason"] == "c[0]: '9.223372036854776e+18' is not a valid int64"
    assert json.loads(first["row_json"]) == {"c": [1.5]}


def test_the_reason_names_the_first_item_and_field_that_would_not_convert() -> None:
    spec = parse_outputs(
        {"o": {"items": "list<struct<sku: string, price: decimal(12,2)>>", "n": "int64"}},
        "parsers/p.py",
    )["o"]
    line = {"sku": "a", "price": "1.50"}
    sent = pa.table(
        {
            "items": [
                [line, line, {"sku": "c", "price": "abc"}, {"sku": "d", "price": "x"}],
                [line],
                None,
                [{"sku": "e", "price": "1.505"}],  # a third decimal place: not exact
            ],
            "n": [1, 2, 3, 4],
        }
    )

    result = validate_batch(sent, spec, row_offset=10)

    assert result.quarantined.select(["row_index", "column", "rule", "reason"]).to_pylist() == [
        {
            "row_index": 10,
            "column": "items",
            "rule": "type",
            "reason": "items[2].price: 'abc' is not a valid decimal(12,2)",
        },
        {
            "row_index": 13,
            "column": "items",
            "rule": "type",
            "reason": "items[0].price: '1.505' is not a valid decimal(12,2)",
        },
    ]
    assert result.reasons == {"items: type": 2}


def test_the_reason_follows_the_path_down_structs_and_lists() -> None:
    sent = pa.array(
        [
            {"id": 1, "tags": {"names": ["a", "b"], "weights": [0.5, 1 / 3]}},
            {"id": 2**40, "tags": {"names": [], "weights": []}},
        ]
    )
    spec = contract("struct<id: int32, tags: struct<names: list<string>, weights: list<float32>>>")

    result = validate_batch(pa.table({"c": sent}), spec, row_offset=0)

    assert result.quarantined.column("reason").to_pylist() == [
        "c.tags.weights[1]: '0.3333333333333333' is not a valid float32",
        "c.id: '1099511627776' is not a valid int32",
    ]


def test_struct_fields_convert_by_name_and_a_bad_field_quarantines_its_row() -> None:
    sent = pa.array(
        [
            {"age": 30, "born": "1996-01-02", "name": "Ada"},
            {"age": 2**40, "born": "1996-01-02", "name": "Old"},
            {"age": 1, "born": "1996-02-30", "name": "Never"},
        ]
    )
    spec = contract("struct<name: string, age: int32, born: date>")

    result = validate_batch(pa.table({"c": sent}), spec, row_offset=0)

    assert result.valid.column("c").to_pylist() == [
        {"name": "Ada", "age": 30, "born": date(1996, 1, 2)}
    ]
    assert result.quarantined.column("row_index").to_pylist() == [1, 2]


def test_nested_items_obey_the_exactness_rules_at_any_depth() -> None:
    sent = pa.array([[{"v": [0.5, 0.1]}], [{"v": [1 / 3]}]])
    spec = contract("list<struct<v: list<float32>>>")

    result = validate_batch(pa.table({"c": sent}), spec, row_offset=0)

    assert result.valid.column("c").type == spec.arrow_schema().field("c").type
    assert [len(row) for row in result.valid.column("c").to_pylist()] == [1]
    assert result.quarantined.column("row_index").to_pylist() == [1]


def test_a_missing_nested_value_in_a_non_null_column_is_quarantined() -> None:
    spec = contract("list<string>", nullable=False)

    result = validate_batch(pa.table({"c": pa.array([["a"], None])}), spec, row_offset=0)

    assert result.valid.column("c").to_pylist() == [["a"]]
    assert result.quarantined.column("rule").to_pylist() == ["not_null"]


@pytest.mark.parametrize(
    "sent",
    [
        pa.array([["a"]], pa.large_list(pa.string())),
        pa.array([["a"]], pa.list_(pa.string(), 1)),
        pa.array([["x"], ["a"]]).slice(1),
        pa.array([None], pa.null()),
    ],
    ids=["large_list", "fixed_size_list", "sliced", "all_null"],
)
def test_every_list_layout_arrives_as_the_contract_list(sent: pa.Array) -> None:
    result = validate_batch(pa.table({"c": sent}), contract("list<string>"), row_offset=0)

    assert result.valid.column("c").type == pa.list_(pa.string())
    assert result.valid.column("c").to_pylist() == sent.to_pylist()


@pytest.mark.parametrize(
    ("sent", "type_name"),
    [
        (pa.array(['["a"]']), "list<string>"),  # JSON text is not parsed: yield the list
        (pa.array([{"name": "a"}]), "struct<name: string, age: int32>"),  # a field missing
        (pa.array([{"name": "a", "extra": 1}]), "struct<name: string>"),  # a field too many
        (pa.array([["a"]]), "struct<name: string>"),
        (pa.array([[b"\x00"]]), "list<int64>"),
    ],
)
def test_a_nested_column_of_another_shape_is_a_schema_mismatch(
    sent: pa.Array, type_name: str
) -> None:
    with pytest.raises(SchemaMismatchError, match=r"expected 'c'"):
        validate_batch(pa.table({"c": sent}), contract(type_name), row_offset=0)
