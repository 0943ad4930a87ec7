"""What a mode tells the assistant about the user's selection: a parser test's outcome, as text
the model reads (the error, the traceback, the quarantine reasons, the input's first lines)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from casparian_core.api import OutputResult, RunResult, top_reasons
from casparian_core.events import RunSummary

HEAD_LINES = 10
HEAD_BYTES = 2048  # the input's first lines, at most this much of it
QUARANTINE_HEAVY_SHARE = 0.1  # of the rows a test produced, a share worth asking about


def needs_help(result: RunResult) -> bool:
    """The test failed, or quarantined a good part of what it read."""
    if not result.ok:
        return True
    produced = result.rows + result.quarantined
    return produced > 0 and result.quarantined / produced >= QUARANTINE_HEAVY_SHARE


def read_head(path: Path) -> str:
    """The first lines of a file as text (bytes that are not UTF-8 shown escaped), bounded
    whatever the file's size; the reason when it cannot be read. Blocking: run it in a thread."""
    try:
        with path.open("rb") as file:
            data = file.read(HEAD_BYTES)
    except OSError as exc:
        return f"(unreadable: {exc.strerror or exc})"
    lines = data.decode("utf-8", errors="backslashreplace").splitlines()[:HEAD_LINES]
    return "\n".join(lines)


def describe_test(result: RunResult, parser_path: Path, input_head: str) -> str:
    """The test's outcome as the model reads it."""
    parts = [
        f"Parser test of {parser_path} on {result.input_path}: {result.status}"
        + (f" ({result.error_code})" if result.error_code else "")
    ]
    parts.extend(_output_line(output) for output in result.outputs)
    if result.error_message:
        parts.append(f"Error: {result.error_message}")
    if result.suggestion:
        parts.append(f"Hint: {result.suggestion}")
    if result.traceback:
        parts.append(f"Traceback:\n{result.traceback.rstrip()}")
    parts.append(f"The input's first lines:\n{input_head}")
    return "\n\n".join(parts)


def _output_line(output: OutputResult) -> str:
    line = f"Output {output.name}: {output.rows:,} rows written, {output.quarantined:,} quarantined"
    if output.rows_rolled_back or output.quarantined_rolled_back:
        line += (
            f" ({output.rows_rolled_back:,} valid and {output.quarantined_rolled_back:,}"
            " quarantined rows rolled back: the input failed)"
        )
    if output.reasons:  # kept when rolled back: often why the input failed
        line += f". Quarantine reasons: {top_reasons(output)}"
    return line + "."


def describe_retest(summary: RunSummary) -> Text:
    """A test the assistant ran after its patch was approved, as the Parser Bench shows it."""
    style = "bold green" if summary.status.successful else "bold red"
    text = Text.assemble(
        ("Re-tested after the approved patch", "bold"),
        f"\n{summary.parser_name} on {Path(summary.input_path).name}: ",
        (str(summary.status), style),
        f"\n{summary.rows:,} rows written, {summary.quarantined:,} quarantined",
    )
    if summary.error_message:
        text.append(f"\n\n{summary.error_message}", style="red")
    text.append("\n\nr re-runs the test here to show its rows.", style="dim")
    return text
