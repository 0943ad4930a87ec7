"""`casparian process` through the Dask executor against the local pool, on the same files in
the same run (issue 20).

1. 2,000 small CSVs of 50 rows (bench_process's), then
2. one 285 MB CSV of 5,000,000 rows (bench_bigfile's, one streaming parser),
each through `casparian process --workers 2` (the local pool: two worker processes), `process
--executor dask-local --workers 2` (a LocalCluster of two worker processes that `process`
starts and stops: end to end, its start included) and `process --executor dask` against a
scheduler and two `dask worker` processes already running (a cluster a user runs: no start-up
in the timing; a session is per sink, so each round's first batch still starts its guests).
Each round writes to a new sink, so every file runs each time; the executors alternate, ROUNDS
rounds, medians reported. Targets: Dask small files >= 0.8x the local pool's rate, the big
file >= 0.9x.

Run: .venv/bin/python -m tests.bench.bench_dask [--rounds N] [--only small|big]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.jobs.dask.cluster import Cluster, ClusterSpec
from tests.bench import bench_bigfile, bench_process
from tests.dask.cluster_support import real_cluster

WORKERS = 2
EXECUTORS = ("local", "dask-local", "dask")


def run(settings: Settings, sink: Path, executor: str, scheduler: str) -> tuple[float, float, int]:
    """One `casparian process` as a user runs it: its seconds, the CPU seconds of it and the
    processes it waited for (with `dask`: the driver alone, the workers are not its), and the
    jobs it completed."""
    command = [sys.executable, "-m", "casparian_cli", "process", "--offline", "--json"]
    command += ["--workers", str(WORKERS), "--sink", f"parquet://{sink}"]
    if executor != "local":
        command += ["--executor", executor]
    if executor == "dask":
        command += ["--scheduler", scheduler]
    env = {
        **os.environ,
        "CASPARIAN_HOME": str(settings.home),
        "CASPARIAN_WHEELS_DIR": str(settings.wheels_dir),
    }
    start, cpu = time.perf_counter(), bench_process.children_cpu()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    counts = json.loads(done.stdout)["counts"]
    return elapsed, bench_process.children_cpu() - cpu, counts.get("COMPLETED", 0)


def compare(
    label: str,
    root: Path,
    settings: Settings,
    rounds: int,
    jobs: int,
    rate: Callable[[float], str],
) -> dict[str, float]:
    times: dict[str, list[float]] = {executor: [] for executor in EXECUTORS}
    cpu: dict[str, list[float]] = {executor: [] for executor in EXECUTORS}
    with real_cluster(root / "cluster", WORKERS) as cluster:
        for number in range(rounds):
            for executor in EXECUTORS:
                sink = root / f"out-{executor}-{number}"
                seconds, used, completed = run(settings, sink, executor, cluster.address)
                assert completed == jobs, (executor, completed)
                times[executor].append(seconds)
                cpu[executor].append(used)
                print(
                    f"  {label} round {number + 1} {executor:<10} {seconds:6.2f} s "
                    f"(CPU {used:.2f} s)",
                    flush=True,
                )
    driver = statistics.median(cpu["dask"])
    print(
        f"{label}: the `dask` driver's own CPU: {driver:.2f} s, "
        f"{driver / jobs * 1000:.3f} ms per job (start-up included)"
    )
    medians = {executor: statistics.median(secs) for executor, secs in times.items()}
    for executor, seconds in medians.items():
        ratio = medians["local"] / seconds
        print(f"{label}: {executor:<10} {seconds:6.2f} s  {rate(seconds)}  {ratio:.2f}x local")
    overhead = cluster_overhead(rounds)
    without = medians["dask-local"] - overhead
    print(
        f"{label}: dask-local less its LocalCluster's start and stop ({overhead:.2f} s, "
        f"measured alone): {without:6.2f} s  {rate(without)}  "
        f"{medians['local'] / without:.2f}x local"
    )
    return medians


def cluster_overhead(rounds: int) -> float:
    """What `dask-local` pays before and after its jobs: starting a LocalCluster of WORKERS
    processes (with the plugin registered) and closing it; the median of `rounds`."""
    spent = []
    for _ in range(rounds):
        start = time.perf_counter()
        Cluster.open(ClusterSpec(None, WORKERS)).close()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent)


def small(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-dask-small-") as tmp:
        root = Path(tmp)
        settings, _, _ = asyncio.run(bench_process.prepare(root))
        files = bench_process.FILES
        compare(
            f"{files:,} small files",
            root,
            settings,
            rounds,
            files,
            lambda seconds: f"{files / seconds:7,.0f} files/s",
        )


def big(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-dask-big-") as tmp:
        root = Path(tmp)
        data = root / "data"
        bench_bigfile.write_csv(data / "big.csv", rows=bench_bigfile.ROWS)
        megabytes = (data / "big.csv").stat().st_size / 1e6
        settings = asyncio.run(bench_bigfile.prepare(root, data))
        compare(
            f"one {megabytes:.0f} MB CSV",
            root,
            settings,
            rounds,
            1,
            lambda seconds: f"{megabytes / seconds:7,.0f} MB/s",
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("small", "big"))
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    if args.only != "big":
        small(args.rounds)
    if args.only != "small":
        big(args.rounds)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
