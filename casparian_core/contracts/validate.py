"""Vectorized validation of one batch against its contract: split rows into valid and quarantined.

Every rule yields a boolean mask over the batch (nulls filled with False, since `filter` drops
rows whose mask is null); the masks are OR-ed into one, and `Table.filter` splits the batch.
Only the quarantined rows are looked at further: `case_when` names the first rule each broke, and
their JSON is built row by row (a batch's bad rows are few; its good rows are never looped over).

What depends only on the contract (its Arrow schema, each column's type, bounds and allowed set,
the last batch schema that passed the structure check) is worked out once per contract, in a
`_ContractPlan`: a batch of a few rows costs little more than these fixed pieces.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from casparian_core.contracts.casting import Conversion, convert_column, nested_refusals
from casparian_core.contracts.errors import ValidationFailedError
from casparian_core.contracts.infer import infer_spec
from casparian_core.contracts.json_text import encode_json, json_text, json_values
from casparian_core.contracts.model import ColumnSpec, OutputSpec
from casparian_core.contracts.structure import (
    MARKER_COLUMNS,
    ROW_ERROR_COLUMN,
    SOURCE_ROW_COLUMN,
    check_structure,
)
from casparian_core.contracts.types import ColumnType, Kind
from casparian_core.errors import CasparianError

__all__ = ["QUARANTINE_SCHEMA", "ValidationResult", "infer_spec", "valid_schema", "validate_batch"]

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("row_index", pa.int64(), nullable=False),
        pa.field("column", pa.string()),  # null for rows the parser flagged itself
        pa.field("rule", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("row_json", pa.string(), nullable=False),
    ]
)
SHOWN_VALUE_CHARS = 60  # longer values are cut in reasons (the full row is in row_json)
SHOWN_ALLOWED_VALUES = 5
MAX_PLANS = 256  # contracts whose plan is kept; a process sees few
# Not `empty_table()`, which makes pyarrow import pandas (see contracts/lineage.py).
_NOTHING_QUARANTINED = pa.Table.from_batches([], schema=QUARANTINE_SCHEMA)


@dataclass
class ValidationResult:
    valid: pa.Table  # rows that passed, in the contract's types and column order
    quarantined: pa.Table  # QUARANTINE_SCHEMA
    reasons: Counter[str]  # "<column>: <rule>" (or "parser: <text>") -> rows


@dataclass(frozen=True)
class _Violation:
    column: str | None
    rule: str
    mask: pa.ChunkedArray  # True on rows that break the rule; never null
    describe: Callable[[pa.Array], pa.Array]  # reason text for the rows at the given indices


@dataclass(frozen=True)
class _ColumnPlan:
    name: str
    spec: ColumnSpec
    column_type: ColumnType
    arrow_type: pa.DataType
    low: pa.Scalar | None
    high: pa.Scalar | None
    allowed: pa.Array | None  # with a null added: a missing value is never "not allowed"


class _ContractPlan:
    """The pieces of validation that depend only on the contract, built once."""

    def __init__(self, spec: OutputSpec) -> None:
        self.spec = spec  # held, so that the id this plan is cached under stays the spec's
        self.columns = [_plan_column(name, column) for name, column in spec.columns.items()]
        self.schema = pa.schema(
            pa.field(column.name, column.arrow_type, nullable=column.spec.nullable)
            for column in self.columns
        )
        self.accepted: pa.Schema | None = None  # the last batch schema check_structure passed


_plans: dict[int, _ContractPlan] = {}


def _plan_of(spec: OutputSpec) -> _ContractPlan:
    plan = _plans.get(id(spec))
    if plan is None or plan.spec is not spec:
        if len(_plans) >= MAX_PLANS:
            _plans.clear()
        plan = _plans[id(spec)] = _ContractPlan(spec)
    return plan


def _plan_column(name: str, spec: ColumnSpec) -> _ColumnPlan:
    arrow_type = spec.arrow_type()
    allowed = None
    if spec.allowed is not None:
        allowed = pa.array([*spec.allowed, None], type=arrow_type)
    return _ColumnPlan(
        name,
        spec,
        spec.column_type,
        arrow_type,
        None if spec.min is None else _bound_scalar(spec, "min"),
        None if spec.max is None else _bound_scalar(spec, "max"),
        allowed,
    )


def valid_schema(spec: OutputSpec) -> pa.Schema:
    """The schema of the valid rows `validate_batch` returns for `spec` (`spec.arrow_schema()`,
    without building it again)."""
    return _plan_of(spec).schema


def validate_batch(
    batch: pa.RecordBatch | pa.Table, spec: OutputSpec, row_offset: int
) -> ValidationResult:
    """Check `batch` against `spec`; `row_offset` is the input row number of its first row.

    Raises `SchemaMismatchError` when columns are missing, extra or of an incompatible type, and
    `ValidationFailedError` (never a raw Arrow error) when validation itself fails.
    """
    try:
        return _validate(batch, spec, row_offset)
    except CasparianError:
        raise
    except Exception as error:  # one input's failure, never the end of the run
        raise ValidationFailedError(spec.name, error) from error


def _validate(
    batch: pa.RecordBatch | pa.Table, spec: OutputSpec, row_offset: int
) -> ValidationResult:
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    plan = _plan_of(spec)
    if plan.accepted is None or not table.schema.equals(plan.accepted):
        check_structure(table.schema, spec)
        plan.accepted = table.schema
    converted: list[pa.ChunkedArray] = []
    violations = _parser_flags(table)
    for column in plan.columns:
        arrived = table.column(column.name)
        if arrived.type == column.arrow_type:
            conversion = Conversion(arrived, None, "type")
        else:
            conversion = convert_column(arrived, column.spec)
        converted.append(conversion.values)
        violations += _column_violations(column, arrived, conversion)
    checked = pa.Table.from_arrays(converted, schema=plan.schema)
    if not violations:
        return ValidationResult(checked, _NOTHING_QUARANTINED, Counter())
    broken = functools.reduce(pc.or_, (violation.mask for violation in violations))
    quarantined, reasons = _quarantine(table, violations, broken, row_offset)
    return ValidationResult(checked.filter(pc.invert(broken)), quarantined, reasons)


def _parser_flags(table: pa.Table) -> list[_Violation]:
    if ROW_ERROR_COLUMN not in table.column_names:
        return []
    flagged = table.column(ROW_ERROR_COLUMN).cast(pa.string())
    mask = _rows_breaking(flagged.is_valid())
    if mask is None:
        return []
    return [_Violation(None, "parser", mask, lambda rows: pc.take(flagged, rows))]


def _column_violations(
    column: _ColumnPlan, arrived: pa.ChunkedArray, conversion: Conversion
) -> list[_Violation]:
    """The rules one column breaks in this batch, in the order a row's reason is chosen."""
    name, spec, values = column.name, column.spec, conversion.values
    found: list[_Violation] = []

    def add(rule: str, mask: pa.ChunkedArray | None, *reason: str | pa.ChunkedArray) -> None:
        mask = _rows_breaking(mask) if mask is not None else None
        if mask is not None:
            found.append(_Violation(name, rule, mask, functools.partial(_join, reason)))

    if conversion.failed is not None:
        if column.column_type.is_nested:
            mask = _rows_breaking(conversion.failed)
            if mask is not None:
                describe = functools.partial(_nested_reasons, name, column.column_type, arrived)
                found.append(_Violation(name, "type", mask, describe))
        elif conversion.rule == "format":
            add(
                "format",
                conversion.failed,
                "'",
                arrived,
                f"' does not match format {spec.format!r}",
            )
        else:
            add("type", conversion.failed, "'", arrived, f"' is not a valid {spec.type}")
    if conversion.changed is not None and conversion.became is not None:
        became = conversion.became
        add(
            "inexact",
            conversion.changed,
            "'",
            arrived,
            "' would change to ",
            became,
            f" in {spec.type}",
        )
    if not spec.nullable and arrived.null_count:
        add("not_null", arrived.is_null(), "value is missing (column is not nullable)")
    if column.low is not None:
        add("min", pc.less(values, column.low), "value ", values, f" is below min {spec.min}")
    if column.high is not None:
        add("max", pc.greater(values, column.high), "value ", values, f" is above max {spec.max}")
    if spec.pattern is not None:
        matches = pc.match_substring_regex(values, spec.pattern)
        add(
            "pattern",
            pc.invert(matches),
            "'",
            arrived,
            f"' does not match pattern {spec.pattern!r}",
        )
    # The two rules below ask one aggregate first: the mask is built only when a row breaks it.
    if column.allowed is not None and spec.allowed is not None:
        inside = pc.is_in(values, value_set=column.allowed)  # null is allowed: no null result
        if not pc.all(inside).as_py():
            reason = f"' is not one of: {_list_allowed(spec.allowed)}"
            add("allowed", pc.invert(inside), "'", arrived, reason)
    if spec.max_length is not None:
        is_text = column.column_type.kind is Kind.STRING
        length = pc.utf8_length(values) if is_text else pc.binary_length(values)
        longest = pc.max(length).as_py()
        if longest is not None and longest > spec.max_length:
            unit = "characters" if is_text else "bytes"
            reason = f" {unit}, over max_length {spec.max_length}"
            add("max_length", pc.greater(length, spec.max_length), "value is ", length, reason)
    return found


def _rows_breaking(mask: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The mask with nulls as False, or None when no row breaks the rule (the common case,
    answered by one call: `any` skips nulls)."""
    return mask.fill_null(False) if pc.any(mask).as_py() else None


def _quarantine(
    table: pa.Table, violations: list[_Violation], broken: pa.ChunkedArray, row_offset: int
) -> tuple[pa.Table, Counter[str]]:
    rows = pc.indices_nonzero(broken)
    # One condition per rule over the broken rows only; case_when picks the first that holds.
    conditions = pc.make_struct(
        *[pc.take(violation.mask, rows) for violation in violations],
        field_names=[str(position) for position in range(len(violations))],
    )

    def first(cases: list[pa.Array | pa.Scalar]) -> pa.Array:
        return pc.case_when(conditions, *cases)

    column = first([pa.scalar(violation.column, pa.string()) for violation in violations])
    rule = first([pa.scalar(violation.rule) for violation in violations])
    reason = first([violation.describe(rows) for violation in violations])
    reason_key = first(
        [
            pc.binary_join_element_wise("parser: ", violation.describe(rows), "")
            if violation.column is None
            else pa.scalar(f"{violation.column}: {violation.rule}")
            for violation in violations
        ]
    )
    quarantined = pa.Table.from_arrays(
        [_row_index(table, rows, row_offset), column, rule, reason, _rows_as_json(table, rows)],
        schema=QUARANTINE_SCHEMA,
    )
    counts = pc.value_counts(reason_key).to_pylist()
    return quarantined, Counter({item["values"]: item["counts"] for item in counts})


def _row_index(table: pa.Table, rows: pa.Array, row_offset: int) -> pa.Array:
    positions = pc.add(rows.cast(pa.int64()), row_offset)
    if SOURCE_ROW_COLUMN not in table.column_names:
        return positions
    given = pc.take(table.column(SOURCE_ROW_COLUMN), rows).cast(pa.int64())
    return pc.coalesce(given, positions)


def _rows_as_json(table: pa.Table, rows: pa.Array) -> pa.Array:
    data = table.drop_columns([name for name in MARKER_COLUMNS if name in table.column_names])
    data = data.take(rows)
    # Column by column, cast by Arrow: building Python datetimes and Decimals only to print them
    # would cost more than the JSON itself.
    columns = [json_values(column) for column in data.columns]
    return pa.array(
        [
            encode_json(dict(zip(data.column_names, row, strict=True)))
            for row in zip(*columns, strict=True)
        ],
        type=pa.string(),
    )


def _value_text(values: pa.Array) -> pa.Array | str:
    """Values as short text for reasons; binary values are not shown."""
    value_type = values.type.value_type if pa.types.is_dictionary(values.type) else values.type
    if pa.types.is_binary(value_type) or pa.types.is_large_binary(value_type):
        return "<binary>"
    if pa.types.is_nested(value_type):
        text = pa.array(json_text(values), pa.string())
    else:
        text = values.cast(pa.string())
    cut = pc.utf8_slice_codeunits(text, 0, SHOWN_VALUE_CHARS)
    too_long = pc.greater(pc.utf8_length(text), SHOWN_VALUE_CHARS)
    return pc.if_else(too_long, pc.binary_join_element_wise(cut, "...", ""), text)


def _nested_reasons(
    name: str, column_type: ColumnType, arrived: pa.ChunkedArray, rows: pa.Array
) -> pa.Array:
    """Each row's first item or field that would not convert, by its path:
    "items[2].price: 'abc' is not a valid float64"."""
    values = pc.take(arrived, rows).combine_chunks()
    reasons = []
    for refusal in nested_refusals(values, column_type):
        assert refusal is not None  # the conversion refused the row: the walk finds where
        shown = _value_text(refusal.value)
        value = shown if isinstance(shown, str) else shown[0].as_py()
        reasons.append(f"{name}{refusal.path}: '{value}' is not a valid {refusal.type_name}")
    return pa.array(reasons, pa.string())


def _join(parts: tuple[str | pa.ChunkedArray, ...], rows: pa.Array) -> pa.Array:
    """A reason per row at `rows`: text parts as they are, column parts as the rows' values
    (only these rows are turned into text)."""
    shown = [part if isinstance(part, str) else _value_text(pc.take(part, rows)) for part in parts]
    return pc.binary_join_element_wise(*shown, "")


def _bound_scalar(spec: ColumnSpec, which: str) -> pa.Scalar:
    value = spec.bound_value(which)
    if spec.column_type.is_temporal or spec.column_type.kind is Kind.DURATION:
        return pa.scalar(value, type=spec.arrow_type())
    return pa.scalar(value)


def _list_allowed(allowed: list[int | float | str]) -> str:
    shown = ", ".join(repr(value) for value in allowed[:SHOWN_ALLOWED_VALUES])
    return shown + (", ..." if len(allowed) > SHOWN_ALLOWED_VALUES else "")
