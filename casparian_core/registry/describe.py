"""The words every face shows for a contract and a registration, written once: the CLI prints
them and the TUI's approval screen shows the same lines."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from casparian_core.contracts.model import OPTION_PREFIX
from casparian_core.units import format_bytes, plural

if TYPE_CHECKING:
    from casparian_core.registry.register import RegistrationPlan

RULES = ("min", "max", "pattern", "allowed", "max_length", "format")


def modes_text(max_quarantine_pct: float | None) -> str:
    """What an approved contract does, in dlt's vocabulary."""
    ceiling = (
        f"; above {max_quarantine_pct:g}% of an input's rows quarantined, the job fails"
        if max_quarantine_pct is not None
        else ""
    )
    return (
        "structure: freeze (a missing, extra or incompatibly typed column fails the job); "
        f"values: quarantine (rows with bad values are kept aside with their reasons{ceiling})"
    )


def schema_lines(output: str, schema_json: str, max_quarantine_pct: float | None) -> list[str]:
    """An output's columns, one a line, under a heading that says what the contract does."""
    columns = {
        name: spec
        for name, spec in json.loads(schema_json).items()
        if not name.startswith(OPTION_PREFIX)
    }
    width = max(len(name) for name in columns)
    type_width = max(len(spec["type"]) for spec in columns.values())
    lines = [f"output {output}", f"  {modes_text(max_quarantine_pct)}"]
    for name, spec in columns.items():
        nullable = "null" if spec.get("nullable", True) else "not null"
        rules = ", ".join(f"{rule} {spec[rule]!r}" for rule in RULES if rule in spec)
        lines.append(f"  {name:<{width}}  {spec['type']:<{type_width}}  {nullable:<8}  {rules}")
    return [line.rstrip() for line in lines]


def approval_lines(plan: RegistrationPlan) -> list[str]:
    """What registering the plan stores and approves."""
    topics = ", ".join(plan.topics) or "none (it processes no tagged files until it has some)"
    lines = [
        f"{plan.name} {plan.version} from {plan.source}",
        f"  {plural(len(plan.files), 'file')}, {format_bytes(len(plan.artifact))}, "
        f"sha256 {plan.artifact_sha256}",
        f"  topics: {topics}",
    ]
    if plan.allowances:
        allowed = ", ".join(plan.allowances)
        lines.append(f"  gatekeeper exceptions allowed in pyproject.toml: {allowed}")
    for finding in plan.allowed_findings:
        lines.append(f"    {finding.path}:{finding.line}: {finding.what} (allowed)")
    lines.append("")
    lines.append(f"Contracts to approve ({len(plan.outputs)}):")
    for name, spec in plan.outputs.items():
        lines += schema_lines(name, spec.schema_json(), spec.max_quarantine_pct)
    return lines
