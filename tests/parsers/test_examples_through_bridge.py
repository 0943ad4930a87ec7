"""The shipped example parsers run through the real engine (guest, validation, Parquet sink)
give the same rows and quarantine reasons as the in-process contract tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from casparian_core.config import Settings
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.engine.run import run_parser

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("parser", "samples", "valid", "quarantined"),
    [
        ("sales_csv.py", "sales/*.csv", 78 + 116 + 59, 7),
        ("auth_log.py", "auth/auth.log", 56, 4),
        ("fixed_width.py", "fixed_width/*.txt", 37 + 28, 5),
        ("events_jsonl.py", "jsonl/*.jsonl", 143 + 79, 8),
    ],
)
def test_example_through_the_bridge(
    settings: Settings, tmp_path: Path, parser: str, samples: str, valid: int, quarantined: int
) -> None:
    inputs = sorted(REPO.glob(f"examples/{samples}"))
    out = tmp_path / "out"
    results = run_parser(
        REPO / "parsers" / parser, inputs, settings, RunOptions(sink_uri=f"parquet://{out}")
    )

    for result in results:
        warned = RunStatus.COMPLETED_WITH_WARNINGS if result.quarantined else RunStatus.COMPLETED
        assert result.status == warned
    assert sum(result.rows for result in results) == valid
    assert sum(result.quarantined for result in results) == quarantined
    reasons = sum((o.reasons for r in results for o in r.outputs), Counter[str]())
    assert sum(reasons.values()) == quarantined
    [output] = {o.name for r in results for o in r.outputs}
    assert pq.read_table(out / output).num_rows == valid
    assert pq.read_table(out / f"{output}_quarantine").num_rows == quarantined
