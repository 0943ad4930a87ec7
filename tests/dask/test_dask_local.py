"""`process --executor dask-local`: a real LocalCluster of worker processes, started by the
`casparian process` the test runs, every file processed exactly once; and the flag without
the [dask] extra installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from contextlib import closing
from pathlib import Path

import pyarrow.parquet as pq

from casparian_core.db.connection import connect
from tests.cli.test_process import process
from tests.jobs.daemon_support import source_of
from tests.jobs.pool_support import wheels_env
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked", "wheels_env"]  # fixtures, used by name


def ran_on(home: Path) -> Counter[str | None]:
    with closing(connect(home / "casparian_flow.sqlite3", migrating=False)) as conn:
        return Counter(
            worker for (worker,) in conn.execute("SELECT ran_on FROM cf_processing_history")
        )


async def test_dask_local_runs_every_file_once_in_batches_on_its_workers(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home, lines = await source_of(
        locked, {f"f{n:02}.csv": (3 + n % 5, "id,value") for n in range(45)}
    )

    result = process(home.settings.home, wheels_env, "--executor", "dask-local", "--workers", "2")

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"] == {"COMPLETED": 45}
    table = pq.read_table(home.settings.output_dir / "rows")
    assert Counter(table.column("text").to_pylist()) == Counter(lines)
    workers = ran_on(home.settings.home)
    assert sum(workers.values()) == 45
    assert all(str(worker).startswith("tcp://127.0.0.1:") for worker in workers)


async def test_the_dask_executor_without_the_extra_says_what_to_install(
    locked: Fixture, wheels_env: dict[str, str]
) -> None:
    home, _ = await source_of(locked, {"a.csv": (3, "id,value")})
    blocked = (
        "import sys; sys.modules['distributed'] = None; from casparian_cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )

    result = subprocess.run(
        [sys.executable, "-c", blocked, "process", "--executor", "dask-local", "--offline"],
        env={**os.environ, "CASPARIAN_HOME": str(home.settings.home), **wheels_env},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install 'casparian-flow[dask]'" in result.stderr
    assert "`distributed` package" in result.stderr
    with closing(connect(home.settings.home / "casparian_flow.sqlite3", migrating=False)) as c:
        assert c.execute("SELECT count(*) FROM cf_processing_queue").fetchone() == (0,)
