"""What `casparian run` prints for people: each input's detail (one input, or --verbose) and
one summary of a run over several inputs. Rich is imported with this module, only to print."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from casparian_core.api import (
    RATE_MIN_BYTES,
    OutputResult,
    RunResult,
    RunStatus,
    display_text,
    format_duration,
    plural,
    preview_table,
    rates,
    top_reasons,
)

SHOWN_PER_LIST = 20  # inputs listed per status in a summary; --verbose shows every one
STATUS_STYLES = {
    RunStatus.COMPLETED: "green",
    RunStatus.COMPLETED_WITH_WARNINGS: "yellow",
    RunStatus.SKIPPED: "yellow",
    RunStatus.FAILED: "red",
    RunStatus.CANCELLED: "red",
}
OUTPUT_EXISTS = "output exists for this input and parser version (use --force to replace it)"


def shown_path(path: Path) -> str:
    """A path as a terminal can show it (bytes that are not UTF-8 read \\xNN)."""
    return display_text(str(path))


def print_result(console: Console, result: RunResult) -> None:
    """One input's report: status and time, each output's rows, quarantine reasons, schema
    and first rows; or the error with its traceback and a hint."""
    head = escape(
        f"{result.parser_name} {result.parser_version} on {shown_path(result.input_path)}:"
    )
    style = STATUS_STYLES.get(result.status, "b")
    if result.status == RunStatus.SKIPPED:
        console.print(f"{head} [{style}]SKIPPED[/]: {OUTPUT_EXISTS}")
        return
    if not result.ok:
        code = f" ({result.error_code})" if _code_says_more(result) else ""
        console.print(
            f"{head} [{style} b]{result.status}[/]{code} after {format_duration(result.duration_s)}"
        )
        if result.error_message:
            console.print(f"  {result.error_message}", style="red", markup=False)
        if result.traceback:
            console.print(result.traceback.rstrip(), style="dim", markup=False)
        if hint := useful_hint(result):
            console.print(f"  hint: {hint}", style="cyan", markup=False)
        return
    rate = f" ({rates(result)})" if result.input_bytes >= RATE_MIN_BYTES else ""
    console.print(
        f"{head} [{style} b]{result.status}[/] in {format_duration(result.duration_s)}{rate}"
    )
    for output in result.outputs:
        _print_output(console, output)


def useful_hint(result: RunResult) -> str | None:
    """The hint, unless the message already says it (a contract's diff names its near
    misses itself)."""
    hint = result.suggestion
    if hint is None or hint in (result.error_message or ""):
        return None
    return hint


def _print_output(console: Console, output: OutputResult) -> None:
    console.print(
        escape(f"  {output.name}: {plural(output.rows, 'row')} written to {output.location}")
    )
    if output.quarantined:
        console.print(
            f"    [yellow]{plural(output.quarantined, 'row')} quarantined[/] "
            f"(in {output.name}_quarantine): {escape(top_reasons(output))}"
        )
    if output.spec is not None:
        origin = " (inferred from the data, not enforced)" if output.inferred else ""
        console.print(f"    schema{origin}:")
        for name, spec in output.spec.columns.items():
            nullable = "" if spec.nullable else " not null"
            console.print(f"      {name}  {spec.type}{nullable}", markup=False)
    if output.preview is not None and output.preview.num_rows:
        console.print(preview_table(output.preview))


@dataclass
class _OutputTotals:
    location: str
    rows: int = 0
    quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def print_summary(console: Console, results: Sequence[RunResult], elapsed_s: float) -> None:
    """One report for a run over several inputs: counts per status, then per output the rows,
    quarantined rows and top reasons, then the inputs skipped, failed or cancelled."""
    first = results[0]
    statuses = Counter(result.status for result in results)
    counts = ", ".join(
        f"[{style}]{statuses[status]:,} {status.lower().replace('_', ' ')}[/]"
        for status, style in STATUS_STYLES.items()  # in this order
        if statuses[status]
    )
    console.print(
        escape(f"{first.parser_name} {first.parser_version} on {plural(len(results), 'input')}")
        + f" in {format_duration(elapsed_s)}: {counts}"
    )
    for name, totals in _output_totals(results).items():
        console.print(
            escape(f"  {name}: {plural(totals.rows, 'row')} written to {totals.location}")
        )
        if totals.quarantined:
            reasons = ", ".join(
                f"{reason} ({count:,})" for reason, count in totals.reasons.most_common(3)
            )
            console.print(
                f"    [yellow]{plural(totals.quarantined, 'row')} quarantined[/] "
                f"(in {name}_quarantine): {escape(reasons)}"
            )
    skipped = [r for r in results if r.status == RunStatus.SKIPPED]
    _print_list(
        console,
        "skipped",
        [f"{shown_path(r.input_path)}: {OUTPUT_EXISTS}" for r in skipped],
    )
    unsuccessful = [r for r in results if not r.ok]
    _print_list(console, "failed", [_failure_line(r) for r in unsuccessful])
    hints = {r.error_code: useful_hint(r) for r in unsuccessful if useful_hint(r)}
    for code, hint in hints.items():
        console.print(f"  hint ({code}): {hint}", style="cyan", markup=False)


def _output_totals(results: Sequence[RunResult]) -> dict[str, _OutputTotals]:
    totals: dict[str, _OutputTotals] = {}
    for result in results:
        for output in result.outputs:
            entry = totals.setdefault(output.name, _OutputTotals(output.location))
            entry.rows += output.rows
            entry.quarantined += output.quarantined
            entry.reasons.update(output.reasons)
    return totals


def _code_says_more(result: RunResult) -> bool:
    """Whether the error code adds to the status (a cancelled input's code is CANCELLED too:
    say it once)."""
    return result.error_code is not None and result.status != RunStatus.CANCELLED


def _failure_line(result: RunResult) -> str:
    first_line = (result.error_message or "").strip().splitlines()[:1]
    code = result.error_code if _code_says_more(result) else None
    parts = [result.status if code is None else f"{result.status} ({code})", *first_line]
    return f"{shown_path(result.input_path)}: {': '.join(parts)}"


def _print_list(console: Console, title: str, lines: list[str]) -> None:
    if not lines:
        return
    console.print(f"  {title}:")
    for line in lines[:SHOWN_PER_LIST]:
        console.print(f"    {line}", markup=False)
    if len(lines) > SHOWN_PER_LIST:
        console.print(
            f"    ... and {len(lines) - SHOWN_PER_LIST:,} more (--verbose shows each input)"
        )
