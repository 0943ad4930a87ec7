"""A Parser Bench test's result as the model reads it: status, counts, the error with its
traceback (capped) and the quarantine reasons; and as one line for a face or an outcome."""

from __future__ import annotations

from typing import Any

from casparian_core.engine.results import RunResult

TRACEBACK_MAX_CHARS = 4000
REASONS_MAX = 10
PREVIEW_ROWS = 5


def describe(result: RunResult) -> dict[str, Any]:
    report: dict[str, Any] = {
        "parser": result.parser_name,
        "input": str(result.input_path),
        "status": result.status,
        "rows": result.rows,
        "quarantined": result.quarantined,
        "duration_s": round(result.duration_s, 3),
    }
    if result.error_code:
        report["error_code"] = result.error_code
        report["error"] = result.error_message
    if result.suggestion:
        report["suggestion"] = result.suggestion
    if result.traceback:
        report["traceback"] = result.traceback[-TRACEBACK_MAX_CHARS:]
    report["outputs"] = [
        {
            "name": output.name,
            "rows": output.rows,
            "quarantined": output.quarantined,
            "schema": str(output.schema) if output.schema is not None else None,
            "quarantine_reasons": dict(output.reasons.most_common(REASONS_MAX)),
            "first_rows": output.preview.slice(0, PREVIEW_ROWS).to_pylist()
            if output.preview is not None
            else [],
        }
        for output in result.outputs
    ]
    return report


def one_line(result: RunResult) -> str:
    line = f"{result.status}: {result.rows} rows, {result.quarantined} quarantined"
    if result.error_code:
        line += f"; {result.error_code}: {result.error_message}"
    return line
