"""Scanning a tree of small files into the catalogue, and filtering the catalogue it makes.

Generates N small files (default 1,000,000) in a temporary folder, then measures, each scan in
its own child process so its peak RSS (`ru_maxrss`) is its own:
- a first scan without hashing, an unchanged rescan, and a first scan with hashing;
- Discover-style queries on the resulting catalogue (first page + total count per filter).
The baseline, measured in the same run, is a bare `os.scandir` + `lstat` walk of the same tree.

    .venv/bin/python -m tests.bench.bench_scan [--files N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from casparian_core.config import load_settings
from casparian_core.scout.queries import UNTAGGED, FileQuery
from casparian_core.service import CoreService
from casparian_tui.widgets.file_table import COUNT_AT_MOST

FILES_PER_FOLDER = 1000
FOLDERS_PER_PARENT = 50
QUERY_RUNS = 5
FILTERS: tuple[tuple[str, FileQuery], ...] = (
    ("all files", FileQuery()),
    ("substring, common ('f00')", FileQuery(text="f00")),
    ("substring, rare ('sub00042/f00017')", FileQuery(text="sub00042/f00017")),
    ("glob '*.log'", FileQuery(text="*.log")),
    ("tag = 'logs' (rule)", FileQuery(tag="logs")),
    ("untagged", FileQuery(tag=UNTAGGED)),
)


def make_tree(root: Path, count: int) -> None:
    for start in range(0, count, FILES_PER_FOLDER):
        folder_index = start // FILES_PER_FOLDER
        folder = root / f"d{folder_index // FOLDERS_PER_PARENT:03d}" / f"sub{folder_index:05d}"
        folder.mkdir(parents=True)
        for index in range(min(FILES_PER_FOLDER, count - start)):
            name = f"f{index:05d}.{'log' if index % 4 == 0 else 'csv'}"
            fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, b"id,value\n%d,%d\n" % (start, index))
            os.close(fd)


def baseline_walk(root: Path) -> float:
    """Files per second of a bare scandir + lstat walk: the physical reference."""
    started = time.perf_counter()
    count = 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    entry.stat(follow_symlinks=False)
                    count += 1
    return count / (time.perf_counter() - started)


def child_scan(home: str, tree: str, hash_files: bool) -> None:
    """Run in a child process: one scan, its summary and the peak RSS of this process and of
    the largest of the scan's worker processes as JSON."""

    async def scan() -> dict[str, object]:
        async with CoreService(load_settings(env={}, home=home)) as service:
            return (await service.scout.scan(tree, hash_files=hash_files)).as_json()

    summary = asyncio.run(scan())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps({**summary, "peak_rss_mb": peak_kib / 1024, "worker_rss_mb": worker_kib / 1024})
    )


def run_child(home: Path, tree: Path, hash_files: bool) -> dict[str, object]:
    flag = "--hash" if hash_files else "--no-hash"
    args = [sys.executable, "-m", "tests.bench.bench_scan", "--child", str(home), str(tree), flag]
    output = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(output)


async def time_filters(home: Path) -> list[tuple[str, float, float, float, int]]:
    """Per filter: median ms for the first page, for the total count, and for the count
    Discover shows (capped at COUNT_AT_MOST); the total."""
    results = []
    async with CoreService(load_settings(env={}, home=home)) as service:
        await service.scout.add_rule("*.log", "logs")
        for label, query in FILTERS:
            page_times, count_times, capped_times = [], [], []
            for _ in range(QUERY_RUNS):
                started = time.perf_counter()
                await service.scout.files_page(query, limit=100)
                page_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                total = await service.scout.count_files(query)
                count_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                await service.scout.count_files(query, COUNT_AT_MOST)
                capped_times.append(time.perf_counter() - started)
            page_ms, count_ms, capped_ms = (
                statistics.median(times) * 1000 for times in (page_times, count_times, capped_times)
            )
            results.append((label, page_ms, count_ms, capped_ms, total))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("HOME", "TREE"), help=argparse.SUPPRESS)
    parser.add_argument("--hash", action=argparse.BooleanOptionalAction, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_scan(*args.child, hash_files=args.hash)
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    try:
        tree = workdir / "tree"
        started = time.perf_counter()
        make_tree(tree, args.files)
        print(f"generated {args.files:,} files in {time.perf_counter() - started:.1f} s")
        baseline = baseline_walk(tree)
        plain = run_child(workdir / "home", tree, hash_files=False)
        rescan = run_child(workdir / "home", tree, hash_files=False)
        hashed = run_child(workdir / "home-hashed", tree, hash_files=True)
        baseline = max(baseline, baseline_walk(tree))  # best of two: the page cache is warm
        print(f"\nbaseline os.scandir + lstat walk: {baseline:,.0f} files/s\n")
        print(
            f"| {'scan':<28} | {'files/s':>9} | {'vs walk':>7} | {'peak RSS':>9}"
            f" | {'worker RSS':>10} |"
        )
        print(f"|{'-' * 30}|{'-' * 11}|{'-' * 9}|{'-' * 11}|{'-' * 12}|")
        for label, result in (
            ("first scan, no hashing", plain),
            ("unchanged rescan", rescan),
            ("first scan, blake3 hashing", hashed),
        ):
            rate = float(result["files_per_s"])  # type: ignore[arg-type]
            print(
                f"| {label:<28} | {rate:>9,.0f} | {rate / baseline:>6.2f}x "
                f"| {result['peak_rss_mb']:>6.0f} MB | {result['worker_rss_mb']:>7.0f} MB |"
            )
        print(
            f"\n| {'filter (Discover)':<36} | {'first page':>10} | {'count':>8}"
            f" | {'count ≤10k':>10} | {'files':>9} |"
        )
        print(f"|{'-' * 38}|{'-' * 12}|{'-' * 10}|{'-' * 12}|{'-' * 11}|")
        for label, page_ms, count_ms, capped_ms, total in asyncio.run(
            time_filters(workdir / "home")
        ):
            print(
                f"| {label:<36} | {page_ms:>7.1f} ms | {count_ms:>5.0f} ms"
                f" | {capped_ms:>7.1f} ms | {total:>9,} |"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
