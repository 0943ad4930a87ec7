"""What a run is asked to do (`RunOptions`) and what it reports (`RunResult`, `OutputResult`)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.errors import ErrorCode

if TYPE_CHECKING:
    import pyarrow as pa

    from casparian_core.contracts.model import OutputSpec


class RunStatus(StrEnum):
    """How one input's run ended."""

    COMPLETED = "COMPLETED"
    COMPLETED_WITH_WARNINGS = "COMPLETED_WITH_WARNINGS"  # rows were quarantined
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # output for this input and parser version exists; use force to redo
    CANCELLED = "CANCELLED"

    @property
    def successful(self) -> bool:
        return self in SUCCESSFUL_RUN_STATUSES


SUCCESSFUL_RUN_STATUSES = frozenset(
    {RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_WARNINGS, RunStatus.SKIPPED}
)


InputLogCallback = Callable[[int, str], object]  # (logging level, text) of one input's job
# (job id or None for lines not tied to a job, logging level, text): the host's LogCallback
SessionLogCallback = Callable[[str | None, int, str], object]


@dataclass(frozen=True)
class InputItem:
    """One input submitted to a session: the file, where it lives (its input key, which names
    its rows in the outputs: its path relative to its source or the run's input root), and
    optionally its job id (a fresh uuid4 hex otherwise), the callback that receives its log
    lines, and an event that cancels it."""

    path: Path
    input_key: str
    job_id: str | None = None
    on_log: InputLogCallback | None = None
    cancel: threading.Event | None = None


@dataclass
class RunOptions:
    sink_uri: str  # where output goes (the caller chooses; the CLI's default is ./output)
    venv: Path | None = None  # run the guest with <venv>/bin/python
    force: bool = False  # replace output that exists for this input and parser version
    inherit_stdio: bool = False  # the guest shares our terminal (breakpoint() works)
    preview_rows: int = 10


@dataclass
class OutputResult:
    name: str
    location: str  # where the user finds the output
    rows: int = 0  # valid rows committed (0 when the input failed)
    quarantined: int = 0  # rows committed to the quarantine output (0 when the input failed)
    rows_rolled_back: int = 0  # valid rows received, then dropped because the input failed
    quarantined_rolled_back: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # "<column>: <rule>" -> rows
    spec: OutputSpec | None = None  # the contract checked (inferred when `inferred`)
    preview: pa.Table | None = None  # the first valid rows, in contract types
    skipped: bool = False  # the part existed and force was off: nothing ran
    inferred: bool = False  # no `outputs` contract: the schema was read off the data

    @property
    def schema(self) -> pa.Schema | None:
        return None if self.spec is None else self.spec.arrow_schema()

    def roll_back(self) -> None:
        """The input failed: what was counted was never committed."""
        self.rows_rolled_back += self.rows
        self.quarantined_rolled_back += self.quarantined
        self.rows = self.quarantined = 0


@dataclass
class RunResult:
    parser_name: str
    parser_version: str
    input_path: Path
    status: RunStatus
    job_id: str | None = None
    error_code: ErrorCode | None = None
    error_message: str | None = None
    traceback: str | None = None
    suggestion: str | None = None  # what the user could try, e.g. "did you mean 'amount'?"
    duration_s: float = 0.0
    input_bytes: int = 0
    outputs: list[OutputResult] = field(default_factory=list)
    # A failure that may pass on a retry: the guest's exit class 2 (TRANSIENT), a guest that
    # crashed or timed out, an input that changed while it was parsed. Decided where the
    # failure is observed; nothing downstream reads it from error codes.
    transient: bool = False

    @property
    def ok(self) -> bool:
        return self.status.successful

    @property
    def rows(self) -> int:
        return sum(output.rows for output in self.outputs)

    @property
    def quarantined(self) -> int:
        return sum(output.quarantined for output in self.outputs)
