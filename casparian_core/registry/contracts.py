"""Approved contracts (`cf_contracts`): this module owns the table's SQL.

A contract is the approved schema of one output of one registered parser version, and says
what it does in the vocabulary data engineers know from dlt's schema contracts: structure
`freeze` (a missing, extra or incompatibly typed column fails the job, SCHEMA_MISMATCH) and
values `quarantine` (a row with a bad value is kept aside with its reason; above the output's
`max_quarantine_pct` the job fails). Rows are never changed: a changed contract is a new
parser version.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casparian_core.contracts.model import OutputSpec

STRUCTURE = "freeze"
VALUES = "quarantine"


@dataclass(frozen=True)
class ApprovedContract:
    output: str
    schema_json: str  # canonical, in the `outputs` literal's own shape
    schema_hash: str  # SHA-256 of schema_json
    structure: str  # dlt's column mode: freeze
    values: str  # dlt's data_type mode, as we do it: quarantine
    max_quarantine_pct: float | None
    approved_by: str
    approved_at: str

    @classmethod
    def approve(cls, spec: OutputSpec, by: str, at: str) -> ApprovedContract:
        return cls(
            spec.name,
            spec.schema_json(),
            spec.schema_hash(),
            STRUCTURE,
            VALUES,
            spec.max_quarantine_pct,
            by,
            at,
        )

    def as_json(self) -> dict[str, object]:
        return {
            "output": self.output,
            "schema": self.schema_json,
            "schema_hash": self.schema_hash,
            "structure": self.structure,
            "values": self.values,
            "max_quarantine_pct": self.max_quarantine_pct,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
        }


def insert(conn: sqlite3.Connection, parser_id: str, contracts: list[ApprovedContract]) -> None:
    conn.executemany(
        "INSERT INTO cf_contracts (parser_id, output_name, schema_json, schema_hash, structure,"
        " value_mode, max_quarantine_pct, approved_by, approved_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                parser_id,
                c.output,
                c.schema_json,
                c.schema_hash,
                c.structure,
                c.values,
                c.max_quarantine_pct,
                c.approved_by,
                c.approved_at,
            )
            for c in contracts
        ],
    )


def of_parser(conn: sqlite3.Connection, parser_id: str) -> list[ApprovedContract]:
    """The parser version's contracts, in the order its outputs were declared."""
    rows = conn.execute(
        "SELECT output_name, schema_json, schema_hash, structure, value_mode,"
        " max_quarantine_pct, approved_by, approved_at FROM cf_contracts WHERE parser_id = ?"
        " ORDER BY id",
        (parser_id,),
    )
    return [ApprovedContract(*row) for row in rows]
