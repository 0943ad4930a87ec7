"""What a run is asked to do (`RunOptions`) and what it reports (`RunResult`, `OutputResult`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from casparian_core.contracts.model import OutputSpec


class RunStatus:
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_WARNINGS = "COMPLETED_WITH_WARNINGS"  # rows were quarantined
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # output for this input and parser version exists; use force to redo
    CANCELLED = "CANCELLED"

    SUCCESSFUL = frozenset({COMPLETED, COMPLETED_WITH_WARNINGS, SKIPPED})


@dataclass
class RunOptions:
    sink_uri: str | None = None  # None: parquet://<current folder>/output
    venv: Path | None = None  # run the guest with <venv>/bin/python
    force: bool = False  # replace output that exists for this input and parser version
    inherit_stdio: bool = False  # the guest shares our terminal (breakpoint() works)
    preview_rows: int = 10
    job_id: str | None = None  # None: a fresh id per input


@dataclass
class OutputResult:
    name: str
    location: str  # where the user finds the output
    rows: int = 0  # valid rows written
    quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # "<column>: <rule>" -> rows
    spec: OutputSpec | None = None  # the contract checked (inferred when `inferred`)
    preview: pa.Table | None = None  # the first valid rows, in contract types
    skipped: bool = False  # the part existed and force was off: nothing ran
    inferred: bool = False  # no `outputs` contract: the schema was read off the data

    @property
    def schema(self) -> pa.Schema | None:
        return None if self.spec is None else self.spec.arrow_schema()


@dataclass
class RunResult:
    parser_name: str
    parser_version: str
    input_path: Path
    status: str  # a RunStatus value
    job_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    suggestion: str | None = None  # what the user could try, e.g. "did you mean 'amount'?"
    duration_s: float = 0.0
    input_bytes: int = 0
    outputs: list[OutputResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in RunStatus.SUCCESSFUL

    @property
    def rows(self) -> int:
        return sum(output.rows for output in self.outputs)

    @property
    def quarantined(self) -> int:
        return sum(output.quarantined for output in self.outputs)
