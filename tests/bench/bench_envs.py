"""Managed environments: a parser's venv built cold from its uv.lock, and reused warm.

The lock pins one small pure-Python package; pyarrow and pyzmq (the shim's, ~56 MB of wheels)
are added from the host's versions. Builds are offline from a local wheels folder, so the
network is not measured. Cold: a new home each time, once with uv's cache already holding the
wheels (a second parser, or a rebuild) and once with an empty uv cache (the first build on an
air-gapped machine). Warm: `ensure_venv` on a built venv, the time it adds to every run
(target < 50 ms), and a one-file run with the managed venv against one with the host's Python.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from casparian_core.config import Settings, load_settings
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.engine.run import run_parser
from casparian_core.registry.envs import ensure_venv
from tests.registry.lockfiles import (
    LockedProject,
    link_wheels,
    locked_project,
    shim_wheels,
    write_index,
    write_wheel,
)

COLD_RUNS = 3
WARM_CALLS = 1000
RUNS = 5
PARSER = "import sys\ndef parse(path):\n    return [{'prefix': sys.prefix}]\n"


def cold_build(root: Path, project: LockedProject, wheels: Path, n: int, cache: Path) -> float:
    settings = load_settings(env={}, home=root / f"home-{n}")
    settings = settings.model_copy(update={"wheels_dir": wheels})
    os.environ["UV_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    ensure_venv(settings, project.lock_text, project.pyproject_text, offline=True)
    return time.perf_counter() - start


def warm_calls(settings: Settings, project: LockedProject) -> list[float]:
    times = []
    for _ in range(WARM_CALLS):
        start = time.perf_counter()
        ensure_venv(settings, project.lock_text, project.pyproject_text, offline=True)
        times.append(time.perf_counter() - start)
    return times


def one_file_run(root: Path, settings: Settings, venv: Path | None, n: int) -> float:
    parser = root / "bench_parser.py"
    parser.write_text(PARSER)
    data = root / "input.txt"
    data.write_text("x\n")
    start = time.perf_counter()
    [result] = run_parser(parser, [data], settings, RunOptions(f"parquet://{root}/out-{n}", venv))
    elapsed = time.perf_counter() - start
    assert result.status == RunStatus.COMPLETED, result.error_message
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-envs-") as folder:
        root = Path(folder)
        tiny = write_wheel(root / "built", "tinypkg", "0.1.0")
        write_index(root / "index", [tiny])
        project = locked_project(root / "parser", ["tinypkg==0.1.0"], root / "index")
        wheels = link_wheels(root / "wheels", [tiny, *shim_wheels()])
        cache = root / "uv-cache"
        empty = [
            cold_build(root, project, wheels, n, root / f"cache-{n}") for n in range(COLD_RUNS)
        ]
        cold_build(root, project, wheels, COLD_RUNS, cache)  # fills `cache`
        cached = [
            cold_build(root, project, wheels, COLD_RUNS + 1 + n, cache) for n in range(COLD_RUNS)
        ]
        print(f"cold build, empty uv cache: median {statistics.median(empty):.2f} s {empty}")
        print(f"cold build, warm uv cache:  median {statistics.median(cached):.2f} s {cached}")

        settings = load_settings(env={}, home=root / "home-0")
        settings = settings.model_copy(update={"wheels_dir": wheels})
        venv = ensure_venv(settings, project.lock_text, project.pyproject_text, offline=True)
        warm = sorted(warm_calls(settings, project))
        print(
            f"warm reuse ({WARM_CALLS} calls): median {statistics.median(warm) * 1e6:.0f} µs, "
            f"p99 {warm[int(len(warm) * 0.99)] * 1e6:.0f} µs, max {warm[-1] * 1e6:.0f} µs "
            "(target < 50 ms)"
        )
        one_file_run(root, settings, None, 2 * RUNS)  # the host's own imports, once
        host, managed = [], []
        for n in range(RUNS):  # alternating, so neither gets a quieter machine
            host.append(one_file_run(root, settings, None, n))
            managed.append(one_file_run(root, settings, venv, RUNS + n))
        print(f"one-file run, host Python:  median {statistics.median(host) * 1e3:.0f} ms")
        print(f"one-file run, managed venv: median {statistics.median(managed) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
