"""Prepare a demo home: the shipped example parsers and sample files, catalogued, tagged,
registered and processed once through the job queue, so the app opens with jobs, tables, rows
and quarantined rows to look at.

`make demo` runs `python -m casparian_core.demo --examples examples --parsers parsers` with
CASPARIAN_HOME pointing at the demo home and CASPARIAN_WHEELS_DIR at the wheels `make install`
downloaded (the parsers' environments are built offline from them), then opens the TUI on it.
Safe to run again: parsers are re-linked, samples re-copied only when missing, the scan is
incremental, registered versions are kept, and inputs already processed are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from casparian_core.config import Settings, load_settings
from casparian_core.errors import CasparianError
from casparian_core.home import prepare_home
from casparian_core.jobs.plan import ProcessRequest
from casparian_core.jobs.process import ProcessSummary
from casparian_core.service import CoreService

SAMPLES_FOLDER = "demo-data"
DEMO_APPROVER = "casparian demo"  # who approved the example parsers' contracts
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


async def register_examples(settings: Settings, parsers: Path) -> list[str]:
    """Register each example parser (its contracts approved by the demo), so production runs
    them; a parser that cannot be registered is reported, not fatal. Returns one line each."""
    lines = []
    async with CoreService(settings) as service:
        for parser in sorted(parsers.glob("*.py")):
            try:
                plan = await service.registry.prepare(parser)
                done = await service.registry.register(plan, approver=DEMO_APPROVER)
            except CasparianError as exc:
                lines.append(f"  {parser.name}: not registered: {exc}")
                continue
            lines.append(f"  {parser.name}: registered as {done.name} {done.version}")
    return lines


async def process_samples(settings: Settings) -> ProcessSummary:
    """Queue every catalogued sample for its registered parser and run the queue dry, as
    `casparian process --offline` does (environments built from the wheels folder)."""
    async with CoreService(settings) as service:
        processing = service.processing(ProcessRequest(source=SAMPLES_FOLDER, offline=True))
        await processing.prepare()
        return await processing.run()


def _summary_line(summary: ProcessSummary) -> str:
    line = f"{summary.rows:,} rows written, {summary.quarantined:,} quarantined"
    if summary.already_done:
        line += f", {summary.already_done} files already processed"
    if failed := [f"{r.job.input_path} ({r.result.error_code})" for r in summary.failures]:
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
        registered = asyncio.run(register_examples(settings, args.parsers))
        summary = asyncio.run(process_samples(settings))
    except CasparianError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"Demo home {settings.home}: {len(linked)} parsers, {files} sample files in {samples}")
    print("\n".join(registered))
    print(f"Processed the samples: {_summary_line(summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
