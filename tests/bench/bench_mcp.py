"""`casparian mcp` round trips over stdio, in the steady state: the official MCP client calls
a real server process on a home with a source of N small files (default 1,000,000, the tree of
bench_scan, catalogued without hashing) and a Parquet output of 10,000,000 rows.

Per call, after warm-up calls (the client compiles each tool's output-schema validator once):
- `list_files` on the big source (a page of 50, and a page deep in it at offset 900,000);
- `query_output`: a capped SELECT of the 10M-row output (200 rows, cut to fit 16 KiB), and an
  aggregate over all its rows;
each also called in process (the Toolbox with no MCP), so the difference is what MCP and stdio
add. Reports the median and the 95th percentile of ROUNDS calls, and the answer's bytes.

    .venv/bin/python -m tests.bench.bench_mcp [--files N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
from mcp import ClientSession, StdioServerParameters, stdio_client

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.tools.all import toolbox
from casparian_core.ai.tools.base import ToolEnv
from casparian_core.config import load_settings
from casparian_core.service import CoreService
from tests.bench.bench_scan import make_tree

OUTPUT_ROWS = 10_000_000
WARM_UP = 3
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("list_files, first page of 50", "list_files", {"source": "tree", "limit": 50}),
    (
        "list_files, page at offset 900,000",
        "list_files",
        {"source": "tree", "limit": 50, "offset": 900_000},
    ),
    (
        "query_output, SELECT * capped (200 rows asked)",
        "query_output",
        {"sql": "SELECT * FROM big", "limit": 200},
    ),
    (
        "query_output, aggregate over 10M rows",
        "query_output",
        {"sql": "SELECT category, count(*), avg(amount) FROM big GROUP BY 1 ORDER BY 1"},
    ),
]


def write_output(output_dir: Path) -> None:
    folder = output_dir / "big"
    folder.mkdir(parents=True)
    duckdb.connect().execute(
        f"""COPY (SELECT i AS id, (i % 1000) * 1.5 AS amount, 'cat' || (i % 37) AS category,
          md5(i::VARCHAR) AS code FROM range({OUTPUT_ROWS}) t(i))
        TO '{folder}/part-0.parquet' (FORMAT parquet)"""
    )


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


async def over_stdio(home: Path, rounds: int) -> dict[str, tuple[list[float], int]]:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "casparian_cli", "mcp"],
        env={"CASPARIAN_HOME": str(home)},
    )
    measured: dict[str, tuple[list[float], int]] = {}
    started = time.perf_counter()
    async with (
        stdio_client(server) as (read, write),
        ClientSession(read, write, read_timeout_seconds=300) as session,
    ):
        await session.initialize()
        await session.list_tools()
        print(f"server started and listed its tools in {time.perf_counter() - started:.2f} s")
        for label, name, arguments in CALLS:
            for _ in range(WARM_UP):
                await session.call_tool(name, arguments)
            times, size = [], 0
            for _ in range(rounds):
                begin = time.perf_counter()
                answer = await session.call_tool(name, arguments)
                times.append(time.perf_counter() - begin)
                assert not answer.is_error, answer.content
                size = len(answer.content[0].text.encode())  # type: ignore[union-attr]
            measured[label] = (times, size)
    return measured


async def in_process(service: CoreService, work: Path, rounds: int) -> dict[str, list[float]]:
    env = ToolEnv(service, ActionStore(service.db, service.clock), work)
    tools = toolbox()
    measured: dict[str, list[float]] = {}
    for label, name, arguments in CALLS:
        for _ in range(WARM_UP):
            await tools.call(env, name, arguments)
        times = []
        for _ in range(rounds):
            begin = time.perf_counter()
            await tools.call(env, name, arguments)
            times.append(time.perf_counter() - begin)
        measured[label] = times
    return measured


async def measure(work: Path, files: int, rounds: int) -> None:
    settings = load_settings(env={}, home=work / "home")
    async with CoreService(settings) as service:
        started = time.perf_counter()
        await service.scout.scan(work / "tree", name="tree", hash_files=False)
        print(f"catalogued {files:,} files in {time.perf_counter() - started:.1f} s")
        write_output(settings.output_dir)
        local = await in_process(service, work, rounds)
    remote = await over_stdio(settings.home, rounds)
    print(f"\n{rounds} calls each after {WARM_UP} warm-up calls; milliseconds")
    print(f"{'call':<48} {'stdio med':>10} {'p95':>8} {'in-proc med':>12} {'bytes':>7}")
    for label, _, _ in CALLS:
        times, size = remote[label]
        median, p95 = summary(times)
        local_median, _ = summary(local[label])
        print(f"{label:<48} {median:>10.1f} {p95:>8.1f} {local_median:>12.1f} {size:>7}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="casparian-bench-mcp-"))
    try:
        started = time.perf_counter()
        make_tree(work / "tree", args.files)
        print(f"made {args.files:,} files in {time.perf_counter() - started:.1f} s")
        asyncio.run(measure(work, args.files, args.rounds))
    finally:
        shutil.rmtree(work, ignore_errors=True)  # a million files take minutes to remove


if __name__ == "__main__":
    main()
