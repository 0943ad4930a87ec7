"""The assistant's tool results on large data: bytes sent to the model and time per call.

Makes a 1 GB CSV (a few MB of rows, then a sparse hole) and a source of N small files
(default 1,000,000, the tree of bench_scan), catalogues both without hashing, then calls each
tool the model would use on them and reports the result's size against its byte cap.

    .venv/bin/python -m tests.bench.bench_ai_tools [--files N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.tools.all import toolbox
from casparian_core.ai.tools.base import DEFAULT_CAP_BYTES, ToolEnv
from casparian_core.config import load_settings
from casparian_core.service import CoreService
from tests.bench.bench_scan import make_tree

GB = 1024**3


def make_big_csv(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b"id,name,amount\n")
        handle.write(b"".join(b"%d,n%d,%d.5\n" % (i, i, i) for i in range(200_000)))
        handle.truncate(GB)


async def measure(work: Path, files: int) -> list[tuple[str, int, int, float]]:
    settings = load_settings(env={}, home=work / "home")
    rows: list[tuple[str, int, int, float]] = []
    async with CoreService(settings) as service:
        started = time.perf_counter()
        await service.scout.scan(work / "big", name="big", hash_files=False)
        await service.scout.scan(work / "tree", name="tree", hash_files=False)
        print(f"catalogued {files:,} + 1 files in {time.perf_counter() - started:.1f} s")
        env = ToolEnv(service, ActionStore(service.db, service.clock), work)
        tools = toolbox()
        [huge] = (await service.scout.files_page(limit=1)).rows  # the big source comes first
        calls: list[tuple[str, str, dict[str, Any]]] = [
            (
                "file_head (12 KiB asked), 1 GB file",
                "file_head",
                {"file_id": huge.id, "max_bytes": 12288},
            ),
            ("preview_file (50 rows), 1 GB file", "preview_file", {"file_id": huge.id, "rows": 50}),
            ("discover_schemas, 1 GB file", "discover_schemas", {"file_ids": [huge.id]}),
            ("list_sources", "list_sources", {}),
            ("list_tags", "list_tags", {}),
            ("list_files (200), big source", "list_files", {"source": "tree", "limit": 200}),
            (
                "list_files glob *.log (200)",
                "list_files",
                {"source": "tree", "glob": "*.log", "limit": 200},
            ),
            ("apply_scope proposal, big source", "apply_scope", {"tag": "logs", "source": "tree"}),
            (
                "apply_scope as_rule proposal, *.log",
                "apply_scope",
                {"glob": "*.log", "tag": "logs", "as_rule": True},
            ),
        ]
        for label, name, arguments in calls:
            started = time.perf_counter()
            output = await tools.call(env, name, arguments)
            elapsed = time.perf_counter() - started
            rows.append((label, len(output.content.encode()), DEFAULT_CAP_BYTES, elapsed))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ai-tools-"))
    try:
        (work / "big").mkdir()
        make_big_csv(work / "big" / "huge.csv")
        started = time.perf_counter()
        make_tree(work / "tree", args.files)
        print(f"generated {args.files:,} files in {time.perf_counter() - started:.1f} s")
        rows = asyncio.run(measure(work, args.files))
        print(f"{'tool call':<42} {'bytes':>8} {'cap':>8} {'ms':>9}", flush=True)
        for label, size, cap, elapsed in rows:
            print(f"{label:<42} {size:>8,} {cap:>8,} {elapsed * 1000:>9.1f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # a million files take minutes to remove
    return 0 if all(size <= cap for _, size, cap, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
