"""How an output's contract changed between two registered versions, in the words of the
structural check (SCHEMA_MISMATCH): the old version's columns held against the new contract.

"not found" is a column the new contract adds, "unexpected" one it drops, "expected X, got Y" a
column retyped (X the new type, Y the old), and beside those, the constraints that changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from casparian_core.contracts.errors import (
    ExtraColumn,
    IncompatibleColumn,
    MissingColumn,
    SchemaMismatchError,
)
from casparian_core.contracts.model import OutputSpec, parse_outputs
from casparian_core.contracts.structure import check_structure
from casparian_core.registry.contracts import ApprovedContract


@dataclass(frozen=True)
class ConstraintChange:
    column: str  # "" for the output's own options (max_quarantine_pct)
    rule: str
    before: object
    after: object


@dataclass(frozen=True)
class OutputDiff:
    output: str
    state: str  # "same", "changed", "added" (only the new version has it), "removed"
    added: list[MissingColumn] = field(default_factory=list)
    removed: list[ExtraColumn] = field(default_factory=list)
    retyped: list[IncompatibleColumn] = field(default_factory=list)  # expected: the new type
    constraints: list[ConstraintChange] = field(default_factory=list)
    storage_changed: bool = False  # the rows' Arrow schema differs: old and new parts differ

    def lines(self, old: str, new: str) -> list[str]:
        """What a person reads: the SCHEMA_MISMATCH lines, then the constraints."""
        if self.state == "same":
            return [f"output '{self.output}': unchanged"]
        if self.state == "added":
            return [f"output '{self.output}': new in {new}"]
        if self.state == "removed":
            return [f"output '{self.output}': not produced by {new} (its table is left as is)"]
        lines = [f"output '{self.output}': the rows of {old} against the contract of {new}:"]
        if self.added or self.removed or self.retyped:
            mismatch = SchemaMismatchError(self.output, self.added, self.removed, self.retyped)
            lines += str(mismatch).splitlines()[1:]
        for change in self.constraints:
            where = f"column '{change.column}'" if change.column else "the output"
            lines.append(
                f"  {where}: {change.rule} {_shown(change.before)} -> {_shown(change.after)}"
            )
        return lines

    def as_json(self) -> dict[str, object]:
        return {
            "output": self.output,
            "state": self.state,
            "added": [{"name": c.name, "type": c.expected_type} for c in self.added],
            "removed": [{"name": c.name, "type": c.actual_type} for c in self.removed],
            "retyped": [
                {"name": c.name, "from": c.actual_type, "to": c.expected_type} for c in self.retyped
            ],
            "constraints": [
                {"column": c.column, "rule": c.rule, "from": c.before, "to": c.after}
                for c in self.constraints
            ],
            "storage_changed": self.storage_changed,
        }


def contract_diff(
    old: list[ApprovedContract], new: list[ApprovedContract], parser: str
) -> list[OutputDiff]:
    """Each output of either version: how its contract changed from `old` to `new`."""
    before, after = _specs(old, parser), _specs(new, parser)
    diffs = [
        _diff(before[name], spec) if name in before else _only(name, "added")
        for name, spec in after.items()
    ]
    diffs += [_only(name, "removed") for name in before if name not in after]
    return diffs


def _only(name: str, state: str) -> OutputDiff:
    return OutputDiff(name, state, storage_changed=True)


def _specs(contracts: list[ApprovedContract], parser: str) -> dict[str, OutputSpec]:
    raw = {c.output: json.loads(c.schema_json) for c in contracts}
    return parse_outputs(raw, f"registered parser {parser}")


def _diff(old: OutputSpec, new: OutputSpec) -> OutputDiff:
    try:
        check_structure(old.arrow_schema(), new)
        added: list[MissingColumn] = []
        removed: list[ExtraColumn] = []
    except SchemaMismatchError as mismatch:
        added, removed = mismatch.missing, mismatch.extra
    retyped = [
        IncompatibleColumn(name, spec.type, old.columns[name].type)
        for name, spec in new.columns.items()
        if name in old.columns and old.columns[name].type != spec.type
    ]
    constraints = _constraints(old, new)
    storage = not old.arrow_schema().equals(new.arrow_schema())
    changed = bool(added or removed or retyped or constraints or storage)
    return OutputDiff(
        new.name, "changed" if changed else "same", added, removed, retyped, constraints, storage
    )


def _constraints(old: OutputSpec, new: OutputSpec) -> list[ConstraintChange]:
    changes = []
    for name, spec in new.columns.items():
        if name not in old.columns:
            continue
        before = old.columns[name].model_dump(exclude={"type"})
        after = spec.model_dump(exclude={"type"})
        changes += [
            ConstraintChange(name, rule, before[rule], after[rule])
            for rule in after
            if before[rule] != after[rule]
        ]
    if old.max_quarantine_pct != new.max_quarantine_pct:
        changes.append(
            ConstraintChange(
                "", "max_quarantine_pct", old.max_quarantine_pct, new.max_quarantine_pct
            )
        )
    return changes


def _shown(value: object) -> str:
    return "none" if value is None else repr(value)
