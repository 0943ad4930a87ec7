"""`casparian run <parser> <input> [--sink URI] [--venv PATH] [--force] [--whatif] [--json]
[--verbose]`.

Dev mode: runs the parser on a file, a folder or a glob through the real engine (bridge,
validation, sink) and needs no database. Exit 0 when every input completed (or was skipped),
1 when one failed, 130 on Ctrl+C (nothing partial is committed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casparian_cli.homes import HomeUse
from casparian_core.api import (
    RunOptions,
    RunResult,
    RunStatus,
    expand_inputs,
    format_bytes,
    freeze_for_exit,
    frozen_after_first,
    input_root,
)
from casparian_core.config import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from casparian_core.api import RunPlan

SHOWN_INPUTS = 20
DEFAULT_OUTPUT_DIR = "output"  # without --sink: parquet://<current folder>/output


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "run",
        help="run a parser on files and show what it produces (dev mode, no database)",
        description="Run a parser on a file, a folder (every file under it) or a glob, check "
        "every row against its contract, write valid rows and quarantine the rest.",
    )
    parser.add_argument("parser", type=Path, help="the parser file (.py)")
    parser.add_argument("input", help="a file, a folder or a quoted glob such as 'logs/*.log'")
    parser.add_argument(
        "--sink",
        metavar="URI",
        help="where output goes: parquet://DIR (default ./output), arrow://DIR, "
        "sqlite:///FILE or duckdb:///FILE",
    )
    parser.add_argument(
        "--venv", type=Path, metavar="PATH", help="run the parser with this virtualenv's Python"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace output that exists for this input"
    )
    parser.add_argument("--whatif", action="store_true", help="show what would run; run nothing")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="with several inputs, each input's full report (by default: one summary)",
    )
    parser.set_defaults(handler=run, home_use=HomeUse.NONE, runs_jobs=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from casparian_core.api import ParserLoadError

    if not args.parser.is_file():
        raise ParserLoadError(f"{args.parser}: no such parser file; check the path")
    inputs = expand_inputs(args.input)
    detailed = args.verbose or len(inputs) == 1
    progress = not (args.json or detailed) and sys.stderr.isatty()
    options = RunOptions(
        sink_uri=args.sink or f"parquet://{Path.cwd() / DEFAULT_OUTPUT_DIR}",
        venv=args.venv,
        force=args.force,
        # With --json, stdout carries only the JSON; under a progress bar the parser's prints
        # are printed above it: both pipe the parser's own output to us.
        inherit_stdio=not (args.json or progress),
    )
    if args.whatif:
        from casparian_core.api import plan_run

        plan = plan_run(args.parser, inputs, options, input_root(args.input))
        if args.json:
            print(json.dumps(_plan_json(plan)))
        else:
            _print_plan(_console(), plan)
        return 0
    if args.json:
        results = _run(args, settings, inputs, options, lambda result: None)
        print(json.dumps(results_json(results)))
    else:
        results = _run_with_report(args, settings, inputs, options, detailed, progress)
    freeze_for_exit()  # the process ends with this command
    return 0 if all(result.ok for result in results) else 1


def _run(
    args: argparse.Namespace,
    settings: Settings,
    inputs: list[Path],
    options: RunOptions,
    on_result: Callable[[RunResult], None],
) -> list[RunResult]:
    from casparian_core.service import CoreService

    return CoreService(settings).run_parser(
        args.parser,
        inputs,
        options,
        input_root=input_root(args.input),
        on_log=_print_log,
        on_result=frozen_after_first(on_result),
    )


def _run_with_report(
    args: argparse.Namespace,
    settings: Settings,
    inputs: list[Path],
    options: RunOptions,
    detailed: bool,
    progress: bool,
) -> list[RunResult]:
    """Run, printing each input's detail as it finishes (one input, or --verbose) or showing
    a progress bar (several inputs, on a terminal), then one summary of several inputs."""
    from casparian_cli.run_progress import RunProgress
    from casparian_cli.run_report import print_result, print_summary

    console = _console()
    bar = RunProgress(f"{args.parser.stem} on {len(inputs):,} inputs", len(inputs))

    def on_result(result: RunResult) -> None:
        if detailed:
            print_result(console, result)
        if progress:
            bar.advance()

    started = time.perf_counter()
    with bar if progress else contextlib.nullcontext():
        results = _run(args, settings, inputs, options, on_result)
    if len(inputs) > 1 and results:
        print_summary(console, results, time.perf_counter() - started)
    return results


def results_json(results: list[RunResult]) -> dict[str, Any]:
    """The `--json` object: for one input exactly status, error_code, duration_s, outputs;
    for several, the same aggregated, plus one entry per input."""
    outputs: dict[str, dict[str, Any]] = {}
    for result in results:
        for output in result.outputs:
            entry = outputs.setdefault(
                output.name,
                {"name": output.name, "rows": 0, "quarantined": 0, "path": output.location},
            )
            entry["rows"] += output.rows
            entry["quarantined"] += output.quarantined
    failed = next((result for result in results if not result.ok), None)
    document: dict[str, Any] = {
        "status": _overall_status(results),
        "error_code": None if failed is None else failed.error_code,
        "duration_s": round(sum(result.duration_s for result in results), 6),
        "outputs": list(outputs.values()),
    }
    if len(results) > 1:
        document["inputs"] = [
            {
                "path": str(result.input_path),
                "status": result.status,
                "error_code": result.error_code,
                "error_message": result.error_message,
                "duration_s": round(result.duration_s, 6),
            }
            for result in results
        ]
    return document


def _overall_status(results: list[RunResult]) -> str:
    statuses = {result.status for result in results}
    for status in (
        RunStatus.FAILED,
        RunStatus.CANCELLED,
        RunStatus.COMPLETED_WITH_WARNINGS,
        RunStatus.COMPLETED,
    ):
        if status in statuses:
            return status
    return RunStatus.SKIPPED if statuses else RunStatus.COMPLETED


def _console() -> Console:
    from casparian_cli.console import cli_console

    return cli_console()


def _print_log(job_id: str | None, level: int, text: str) -> None:
    print(f"{logging.getLevelName(level):<7} {text}", file=sys.stderr, flush=True)


def _plan_json(plan: RunPlan) -> dict[str, Any]:
    info = plan.info
    return {
        "parser": {
            "name": info.name,
            "version": info.version,
            "level": info.level,
            "topics": list(info.topics),
            "path": str(info.path),
        },
        "outputs": {
            name: json.loads(spec.schema_json()) for name, spec in (info.outputs or {}).items()
        },
        "inferred": info.outputs is None,
        "sink": plan.sink_uri,
        "targets": plan.targets,
        "python": plan.python,
        "inputs": [
            {"path": str(item.path), "bytes": item.size, "would_skip": item.exists}
            for item in plan.inputs
        ],
    }


def _print_plan(console: Console, plan: RunPlan) -> None:
    info = plan.info
    topics = ", ".join(info.topics) or "none"
    console.print(
        f"{info.name} {info.version} (Level {info.level}, topics: {topics})", markup=False
    )
    console.print(f"  parser: {info.path}; guest Python: {plan.python}", markup=False)
    if info.outputs is None:
        console.print("  outputs: no contract; the schema will be inferred from the first batch")
    for name, spec in (info.outputs or {}).items():
        console.print(f"  output {name} -> {plan.targets.get(name, plan.sink_uri)}", markup=False)
        for column, column_spec in spec.columns.items():
            rules = column_spec.model_dump(exclude_none=True, exclude={"type", "nullable"})
            extra = "".join(f", {key}={value!r}" for key, value in rules.items())
            nullable = "" if column_spec.nullable else " not null"
            console.print(f"    {column}  {column_spec.type}{nullable}{extra}", markup=False)
    skipped = sum(item.exists for item in plan.inputs)
    console.print(
        f"  {len(plan.inputs)} input(s) to {plan.sink_uri}"
        + (f"; {skipped} already done (would be skipped without --force)" if skipped else "")
    )
    for item in plan.inputs[:SHOWN_INPUTS]:
        note = "  (would skip)" if item.exists else ""
        console.print(f"    {item.path}  {format_bytes(item.size)}{note}", markup=False)
    if len(plan.inputs) > SHOWN_INPUTS:
        console.print(f"    ... and {len(plan.inputs) - SHOWN_INPUTS} more")
    console.print("Nothing was run (--whatif).")
