"""Errors raised when a contract is malformed or a parser's output does not fit its contract."""

from __future__ import annotations

from dataclasses import dataclass

from casparian_core.errors import CasparianError, ErrorCode


class ContractError(CasparianError):
    """A parser's `outputs` literal cannot be read as a contract; the message names the file,
    the output, the column and what is wrong."""

    error_code = ErrorCode.CONTRACT_ERROR


@dataclass(frozen=True)
class MissingColumn:
    name: str
    expected_type: str
    suggestion: str | None  # the closest column the parser did produce, if any is close


@dataclass(frozen=True)
class ExtraColumn:
    name: str
    actual_type: str


@dataclass(frozen=True)
class IncompatibleColumn:
    name: str
    expected_type: str
    actual_type: str


class SchemaMismatchError(CasparianError):
    """A batch's columns do not match the contract: missing, extra or incompatibly typed columns.

    Carries the structured diff (`missing`, `extra`, `incompatible`) for screens that show it.
    """

    error_code = ErrorCode.SCHEMA_MISMATCH

    def __init__(
        self,
        output: str,
        missing: list[MissingColumn],
        extra: list[ExtraColumn],
        incompatible: list[IncompatibleColumn],
    ) -> None:
        self.output = output
        self.missing = missing
        self.extra = extra
        self.incompatible = incompatible
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = [f"output '{self.output}' does not match its contract:"]
        for column in self.missing:
            if column.suggestion is None:
                lines.append(f"  column '{column.name}' ({column.expected_type}) not found")
            else:
                lines.append(
                    f"  column '{column.name}' not found; did you mean '{column.suggestion}'? "
                    f"(expected '{column.name}' {column.expected_type}, "
                    f"got '{column.suggestion}' {self._actual_type_of(column.suggestion)})"
                )
        for wrong in self.incompatible:
            lines.append(
                f"  expected '{wrong.name}' {wrong.expected_type}, "
                f"got '{wrong.name}' {wrong.actual_type}"
            )
        suggested = {column.suggestion for column in self.missing}
        for extra in self.extra:
            if extra.name not in suggested:
                lines.append(f"  unexpected column '{extra.name}' ({extra.actual_type})")
        return "\n".join(lines)  # what to do is the run's hint (engine/suggestions.py)

    def _actual_type_of(self, name: str) -> str:
        return next(column.actual_type for column in self.extra if column.name == name)


class ValidationFailedError(CasparianError):
    """Validating a batch failed in a way no rule foresaw (an Arrow error on some value or type):
    the input it came from fails with VALIDATION_ERROR, and the run goes on with the next."""

    error_code = ErrorCode.VALIDATION_ERROR

    def __init__(self, output: str, cause: Exception) -> None:
        self.output = output
        super().__init__(
            f"validating output '{output}' failed: {type(cause).__name__}: {cause} "
            "(nothing of this input was written; this is a bug in Casparian, please report it "
            "with the parser's output types)"
        )
