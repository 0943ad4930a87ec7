"""The schema contract of a parser's outputs: ordered, typed columns with constraints.

A parser declares its contract as a literal `outputs` dict (read with `ast`, never executed);
`parse_outputs` turns it into `OutputSpec`s or raises one `ContractError` that names the file,
the output, the column and what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from casparian_core.contracts.errors import ContractError
from casparian_core.contracts.types import ColumnType, Kind, UnknownTypeError, parse_type_name

if TYPE_CHECKING:
    import pyarrow as pa

Number = StrictInt | StrictFloat
Bound = StrictInt | StrictFloat | StrictStr
OPTION_PREFIX = "_"
MAX_QUARANTINE_OPTION = "_max_quarantine_pct"
QUARANTINE_SUFFIX = "_quarantine"
_OUTPUT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ISO_PARSERS: dict[Kind, Callable[[str], date | time | datetime]] = {
    Kind.DATE: date.fromisoformat,
    Kind.TIME: time.fromisoformat,
}


class ColumnSpec(BaseModel):
    """One column of an output: its type, whether it may be null, and optional constraints."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: StrictStr
    nullable: StrictBool = True
    min: Bound | None = None
    max: Bound | None = None
    pattern: StrictStr | None = None
    allowed: Annotated[list[Bound], Field(min_length=1)] | None = None
    max_length: Annotated[StrictInt, Field(ge=0)] | None = None
    format: StrictStr | None = None

    _column_type: ColumnType = PrivateAttr()

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, value: str) -> str:
        try:
            return parse_type_name(value).name
        except UnknownTypeError as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _constraints_fit_type(self) -> ColumnSpec:
        self._column_type = parse_type_name(self.type)
        kind = self._column_type.kind
        self._check_bounds(kind)
        if self.pattern is not None:
            _require(kind is Kind.STRING, "'pattern' applies only to string columns")
            _check_regex(self.pattern)
        if self.max_length is not None:
            _require(
                kind in (Kind.STRING, Kind.BINARY),
                "'max_length' applies only to string and binary columns",
            )
        if self.format is not None:
            _require(
                self._column_type.is_temporal,
                f"'format' applies only to date, time and timestamp columns, not {self.type}",
            )
            _require("%" in self.format, f"'format' {self.format!r} has no strptime directive")
        if self.allowed is not None:
            self._check_allowed(kind)
        return self

    def _check_bounds(self, kind: Kind) -> None:
        for bound in (self.min, self.max):
            if bound is None:
                continue
            if self._column_type.is_temporal:
                _require(isinstance(bound, str), f"bounds of a {self.type} column are ISO text")
                _parse_iso(kind, str(bound))
            else:
                _require(
                    self._column_type.is_numeric or kind is Kind.DURATION,
                    f"'min'/'max' apply to numeric and temporal columns, not {self.type}",
                )
                _require(not isinstance(bound, str), f"bounds of a {self.type} column are numbers")
        if self.min is not None and self.max is not None:
            low, high = self.bound_value("min"), self.bound_value("max")
            try:
                in_order = low <= high
            except TypeError:  # one datetime bound has a zone offset and the other has none
                raise ValueError(
                    "'min' and 'max' must both have a zone offset or both lack one"
                ) from None
            _require(in_order, f"min {self.min!r} is greater than max {self.max!r}")

    def _check_allowed(self, kind: Kind) -> None:
        assert self.allowed is not None
        if kind is Kind.STRING:
            fits = all(isinstance(value, str) for value in self.allowed)
        elif kind is Kind.INTEGER:
            fits = all(isinstance(value, int) for value in self.allowed)
        elif kind is Kind.FLOAT:
            fits = all(isinstance(value, int | float) for value in self.allowed)
        else:
            raise ValueError("'allowed' applies only to string, integer and float columns")
        _require(fits, f"'allowed' values must all be {self.type} values")

    @property
    def column_type(self) -> ColumnType:
        return self._column_type

    def arrow_type(self) -> pa.DataType:
        return self._column_type.arrow_type()

    def bound_value(self, which: str) -> Any:
        """`min` or `max` as a Python value comparable with the column's values."""
        bound = getattr(self, which)
        if isinstance(bound, str):
            return _parse_iso(self._column_type.kind, bound)
        return bound


class OutputSpec(BaseModel):
    """The contract of one output table: ordered columns and the quarantine ceiling."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    columns: dict[str, ColumnSpec]
    max_quarantine_pct: Annotated[float, Field(ge=0, le=100)] | None = None

    def arrow_schema(self) -> pa.Schema:
        import pyarrow as pa

        return pa.schema(
            pa.field(name, spec.arrow_type(), nullable=spec.nullable)
            for name, spec in self.columns.items()
        )

    def schema_json(self) -> str:  # type: ignore[override]  # pydantic v1's deprecated one
        """Canonical JSON in the `outputs` literal's own shape (so `parse_outputs` reads it back):
        columns in contract order, keys sorted inside each spec, unset constraints left out."""
        document: dict[str, object] = {
            name: dict(sorted(spec.model_dump(exclude_none=True).items()))
            for name, spec in self.columns.items()
        }
        if self.max_quarantine_pct is not None:
            document[MAX_QUARANTINE_OPTION] = self.max_quarantine_pct
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)

    def schema_hash(self) -> str:
        import hashlib

        return hashlib.sha256(self.schema_json().encode()).hexdigest()


def parse_outputs(raw: object, source: str) -> dict[str, OutputSpec]:
    """Read a parser's `outputs` literal; `source` (the parser file) prefixes every error."""
    if not isinstance(raw, dict) or not raw:
        raise ContractError(
            f"{source}: outputs must be a non-empty dict of output name -> columns, "
            f"got {_short_repr(raw)}"
        )
    outputs: dict[str, OutputSpec] = {}
    seen: dict[str, str] = {}
    for name, columns in raw.items():
        where = f"{source}: outputs[{name!r}]"
        _check_output_name(name, where, seen)
        outputs[name] = _parse_output(name, columns, where)
    return outputs


def _check_output_name(name: object, where: str, seen: dict[str, str]) -> None:
    if not isinstance(name, str) or not _OUTPUT_NAME.match(name):
        raise ContractError(
            f"{where}: an output name must start with a letter and hold only letters, digits "
            "and '_'"
        )
    if name.endswith(QUARANTINE_SUFFIX):
        raise ContractError(
            f"{where}: names ending in '{QUARANTINE_SUFFIX}' are kept for quarantined rows; "
            "rename the output"
        )
    if name.lower() in seen:
        raise ContractError(
            f"{where}: clashes with output {seen[name.lower()]!r} (table names ignore case)"
        )
    seen[name.lower()] = name


def _parse_output(name: str, raw: object, where: str) -> OutputSpec:
    if not isinstance(raw, dict) or not raw:
        raise ContractError(
            f"{where}: must be a non-empty dict of column name -> spec, got {_short_repr(raw)}"
        )
    columns: dict[str, ColumnSpec] = {}
    seen: dict[str, str] = {}
    max_quarantine_pct: object = None
    for column, spec in raw.items():
        if not isinstance(column, str) or not column.strip():
            raise ContractError(f"{where}: column names must be non-empty text, got {column!r}")
        if column.startswith(OPTION_PREFIX):
            if column != MAX_QUARANTINE_OPTION:
                raise ContractError(
                    f"{where}: unknown option {column!r} (names starting with '_' are options; "
                    f"the only one is '{MAX_QUARANTINE_OPTION}')"
                )
            max_quarantine_pct = spec
            continue
        if column.lower() in seen:
            raise ContractError(
                f"{where}[{column!r}]: clashes with column {seen[column.lower()]!r} "
                "(SQLite and DuckDB column names ignore case)"
            )
        seen[column.lower()] = column
        columns[column] = _parse_column(spec, f"{where}[{column!r}]")
    if not columns:
        raise ContractError(f"{where}: declares no columns")
    try:
        return OutputSpec.model_validate(
            {"name": name, "columns": columns, "max_quarantine_pct": max_quarantine_pct}
        )
    except ValidationError as error:
        raise ContractError(
            f"{where}: '{MAX_QUARANTINE_OPTION}' must be a number from 0 to 100, "
            f"got {max_quarantine_pct!r}"
        ) from error


def _parse_column(raw: object, where: str) -> ColumnSpec:
    if isinstance(raw, str):
        raw = {"type": raw}  # compact sugar: a bare type name is a nullable column
    if not isinstance(raw, dict):
        raise ContractError(
            f"{where}: a column is a type name or a dict with 'type', got {_short_repr(raw)}"
        )
    try:
        return ColumnSpec.model_validate(raw)
    except ValidationError as error:
        raise ContractError(f"{where}: {_describe_validation_error(error)}") from None


def _describe_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            expected = ", ".join(ColumnSpec.model_fields)
            problems.append(f"unknown key {key!r} (expected one of: {expected})")
        elif item["type"] == "missing":
            problems.append(f"missing {key!r}")
        elif item["type"] == "value_error":
            problems.append(str(item["ctx"]["error"]))
        else:
            problems.append(f"{key!r}: {item['msg'].lower()}, got {_short_repr(item['input'])}")
    return "; ".join(problems)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_regex(pattern: str) -> None:
    """Patterns run in Arrow's RE2, which lacks look-arounds and back-references: compile the
    pattern there, so a contract is refused when it is read rather than when data arrives."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise ValueError(
            f"'pattern' {pattern!r} is not a valid regular expression: {error}"
        ) from None


def _parse_iso(kind: Kind, text: str) -> date | time | datetime:
    try:
        return _ISO_PARSERS.get(kind, datetime.fromisoformat)(text)
    except ValueError:
        raise ValueError(f"bound {text!r} is not ISO {kind.value} text") from None


def _short_repr(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
