"""What a running Dask driver says of its cluster, for `status`: `dask-cluster.json` in the
home, replaced whole (at most once a second while it runs) and removed when it ends; believed
only while the driver's process lives (a killed driver leaves it behind). No Dask import."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from casparian_core.processes import process_exists

STATE_NAME = "dask-cluster.json"
PRIVATE = 0o600


@dataclass(frozen=True)
class ClusterState:
    pid: int  # the driver's (a `process` or the daemon)
    scheduler: str  # its address
    workers: int
    threads: int
    in_flight: int  # jobs submitted to the cluster and not finished
    local: bool  # a LocalCluster the driver started (dask-local)

    def as_json(self) -> dict[str, object]:
        return {"running": True, **asdict(self)}

    def describe(self) -> str:
        kind = "local Dask cluster" if self.local else "Dask cluster"
        return (
            f"{kind} at {self.scheduler}: {self.workers} workers ({self.threads} threads), "
            f"{self.in_flight} jobs in flight (driver pid {self.pid})"
        )


def write_cluster_state(home: Path, state: ClusterState) -> None:
    path = home / STATE_NAME
    scratch = path.with_name(f".{STATE_NAME}.{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(state), handle)
    os.replace(scratch, path)


def remove_cluster_state(home: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (home / STATE_NAME).unlink()


def cluster_state(home: Path) -> ClusterState | None:
    """The cluster a running driver of this home uses; None when no driver runs one."""
    try:
        state = ClusterState(**json.loads((home / STATE_NAME).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return state if process_exists(state.pid) else None
