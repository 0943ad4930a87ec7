"""The README's answers to a new parser author, checked through `casparian run`: what `ctx`
offers, Level 2 yielding lists of dicts, undeclared `_cf_row_error`/`_cf_source_row`, ISO-8601
text into `timestamp[ms, UTC]` without a format, and reading the quarantine with DuckDB."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tests.cli.support import casparian

GUIDE_PARSER = """
import csv

class Events:
    name = "events"
    version = "1"
    outputs = {
        "events": {
            "ts": {"type": "timestamp[ms, UTC]", "nullable": False},
            "amount": "int64",
            "job": "string",
        }
    }

    def parse(self, ctx):
        ctx.logger.info("job %s reads %s", ctx.job_id, ctx.path)
        with open(ctx.path) as handle:
            rows = [
                {
                    "ts": row["ts"],
                    "amount": int(row["amount"]),
                    "job": ctx.job_id,
                    "_cf_source_row": line,
                    "_cf_row_error": "amount too big" if int(row["amount"]) > 7 else None,
                }
                for line, row in enumerate(csv.DictReader(handle), start=2)
            ]
        yield "events", rows
"""


def test_the_parser_guide_holds(tmp_path: Path) -> None:
    (tmp_path / "events.py").write_text(textwrap.dedent(GUIDE_PARSER))
    (tmp_path / "t.csv").write_text(
        "ts,amount\n"
        "2026-01-02T03:04:05Z,5\n"
        "2026-01-02 03:04:05.123+01:00,6\n"
        "not-a-date,7\n"
        "2026-01-02T00:00:00Z,8\n"
    )
    result = casparian("run", "events.py", "t.csv", home=tmp_path / "no-home", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "COMPLETED_WITH_WARNINGS" in result.stdout
    [log] = [line for line in result.stderr.splitlines() if "parser.events" in line]
    job_id = log.split("job ")[1].split()[0]
    assert len(job_id) == 32 and log.endswith("reads t.csv")

    output = tmp_path / "output"
    rows = duckdb.sql(
        f"SELECT epoch_ms(ts), amount, job, _cf_job_id FROM '{output}/events/*.parquet'"
        " ORDER BY amount"
    ).fetchall()
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # the offset +01:00 is one hour less in UTC
    assert rows == [
        (int(at.timestamp() * 1000), 5, job_id, job_id),
        (int(at.timestamp() * 1000) - 3_600_000 + 123, 6, job_id, job_id),
    ]
    columns = duckdb.sql(f"SELECT * FROM '{output}/events/*.parquet'").columns
    assert "_cf_row_error" not in columns and "_cf_source_row" not in columns
    quarantined = duckdb.sql(
        "SELECT row_index, rule, reason, source_path"
        f" FROM '{output}/events_quarantine/*.parquet' ORDER BY row_index"
    ).fetchall()
    assert [row[:2] for row in quarantined] == [(4, "type"), (5, "parser")]
    assert quarantined[1][2] == "amount too big" and quarantined[0][3] == "t.csv"
