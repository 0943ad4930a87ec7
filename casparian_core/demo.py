"""Prepare a demo home: the shipped example parsers and sample files, catalogued, tagged and
parsed once, so the app opens with tables, rows and quarantined rows to look at.

`make demo` runs `python -m casparian_core.demo --examples examples --parsers parsers` with
CASPARIAN_HOME pointing at the demo home, then opens the TUI on it. Safe to run again: parsers
are re-linked, samples re-copied only when missing, the scan is incremental, and inputs already
parsed are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from casparian_core.config import Settings, load_settings
from casparian_core.engine.results import RunResult, RunStatus
from casparian_core.errors import CasparianError
from casparian_core.home import prepare_home
from casparian_core.service import CoreService

SAMPLES_FOLDER = "demo-data"
# Tagging rules that bind the sample files to the example parsers' topics.
DEMO_RULES = (
    ("sales/*.csv", "sales"),
    ("auth/*.log", "linux_auth"),
    ("fixed_width/*.txt", "fixed_width"),
    ("jsonl/*.jsonl", "events"),
)


def install_parsers(settings: Settings, parsers: Path) -> list[Path]:
    """Symlink each example parser into the home's flat parsers/ folder (edits show up at once)."""
    linked = []
    for parser in sorted(parsers.glob("*.py")):
        target = settings.parsers_dir / parser.name
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(parser.resolve())
        linked.append(target)
    return linked


def copy_samples(settings: Settings, examples: Path) -> Path:
    """Copy the sample files into the home, so the demo never touches the repository's copies."""
    destination = settings.home / SAMPLES_FOLDER
    shutil.copytree(examples, destination, dirs_exist_ok=True)
    return destination


async def catalogue_samples(settings: Settings, samples: Path) -> int:
    """Scan the samples as a source and add the demo's tagging rules (once). Returns files seen."""
    async with CoreService(settings) as service:
        existing = {(rule.pattern, rule.tag) for rule in await service.scout.rules()}
        for pattern, tag in DEMO_RULES:
            if (pattern, tag) not in existing:
                await service.scout.add_rule(pattern, tag)
        summary = await service.scout.scan(samples, name=SAMPLES_FOLDER)
    return summary.seen


def run_examples(settings: Settings, samples: Path) -> list[RunResult]:
    """Run each usable parser of the home on the samples its topics are bound to (by the demo's
    rules), writing to the home's output/ as Parser Bench does."""
    from casparian_core.engine.results import RunOptions
    from casparian_core.parsers.discovery import discover_parsers

    service = CoreService(settings)
    options = RunOptions(sink_uri=f"parquet://{settings.output_dir}")
    results: list[RunResult] = []
    for parser in discover_parsers(settings.parsers_dir):
        topics = set(parser.info.topics) if parser.info is not None else set()
        inputs = sorted(
            {path for glob, tag in DEMO_RULES if tag in topics for path in samples.glob(glob)}
        )
        if inputs:
            results += service.run_parser(parser.path, inputs, options, input_root=samples)
    return results


def _results_line(results: list[RunResult]) -> str:
    rows, quarantined = sum(r.rows for r in results), sum(r.quarantined for r in results)
    line = f"{rows:,} rows written, {quarantined:,} quarantined"
    if skipped := sum(r.status == RunStatus.SKIPPED for r in results):
        line += f", {skipped} files already parsed"
    if failed := [f"{r.input_path.name} ({r.error_code})" for r in results if not r.ok]:
        line += f", failed: {', '.join(failed)}"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=Path, required=True)
    parser.add_argument("--parsers", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        prepare_home(settings)
        linked = install_parsers(settings, args.parsers)
        samples = copy_samples(settings, args.examples)
        files = asyncio.run(catalogue_samples(settings, samples))
        results = run_examples(settings, samples)
    except CasparianError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"Demo home {settings.home}: {len(linked)} parsers, {files} sample files in {samples}")
    print(f"Parsed the samples: {_results_line(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
