"""Connecting to a Dask cluster: a scheduler the user runs (`--scheduler tcp://HOST:8786`) or a
`LocalCluster` of worker processes on this machine (`dask-local --workers N`).

Our queue's retries are the only ones: a scheduler re-running a task whose worker died
(`distributed.scheduler.allowed-failures`, 3 by default) would run an attempt twice behind the
queue's back, so a LocalCluster is started with 0, and a user's scheduler that says otherwise is
refused with how to start it. The workers get the `WarmSessions` plugin on connection.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from casparian_core.jobs.dask.errors import ClusterError, DaskMissingError

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

CONNECT_SECS = 10.0  # reaching the scheduler, and reconnecting before it counts as gone
WORKERS_SECS = 60.0  # a LocalCluster's workers starting; a user's cluster's first worker
LOCAL = "dask-local"
REMOTE = "dask"
EXECUTORS = ("local", REMOTE, LOCAL)


@dataclass(frozen=True)
class ClusterSpec:
    """Which cluster: the scheduler's address (`dask`), or N local workers (`dask-local`)."""

    scheduler: str | None
    workers: int = 2

    def describe(self) -> str:
        if self.scheduler is None:
            return f"a local Dask cluster of {self.workers} workers"
        return f"the Dask scheduler at {self.scheduler}"


def require_dask() -> None:
    """Raise DaskMissingError, saying what to install, unless dask and distributed import."""
    for name in ("dask", "distributed"):
        try:
            importlib.import_module(name)
        except ImportError:
            raise DaskMissingError(name) from None


class Cluster:
    """A connected client, the LocalCluster it started (if any), and the workers' plugin."""

    def __init__(self, spec: ClusterSpec, client: Client, local: LocalCluster | None) -> None:
        self.spec = spec
        self.client = client
        self._local = local
        # The scheduler's address (a LocalCluster's, on a port of its own).
        self.address = local.scheduler_address if local is not None else str(spec.scheduler)

    @classmethod
    def open(cls, spec: ClusterSpec) -> Cluster:
        require_dask()
        from casparian_core.jobs.dask.worker import WarmSessions

        local = _start_local(spec.workers) if spec.scheduler is None else None
        client = _connect(spec, local)
        cluster = cls(spec, client, local)
        try:
            cluster._check_retries_off()
            wanted = spec.workers if local is not None else 1
            try:
                client.wait_for_workers(wanted, timeout=WORKERS_SECS)
            except TimeoutError:
                raise ClusterError(
                    f"{spec.describe()} has no worker after {WORKERS_SECS:g} s: start workers "
                    f"(`dask worker {spec.scheduler}`) on machines that see the shared storage."
                ) from None
            client.register_plugin(WarmSessions())
        except BaseException:
            cluster.close()
            raise
        return cluster

    @property
    def lost(self) -> bool:
        """The scheduler went away (the client reconnects for a while, then closes)."""
        return self.client.status != "running"

    def submit(self, function: Any, argument: Any, key: str) -> Future:
        """A task under a key of its own (never reused: a new attempt is a new key), with no
        retries of Dask's."""
        return self.client.submit(function, argument, key=key, pure=False, retries=0)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a scheduler already gone: nothing to tell it
            self.client.close()
        if self._local is not None:
            self._local.close()

    def _check_retries_off(self) -> None:
        allowed = self.client.run_on_scheduler(_allowed_failures)
        if allowed != 0:
            raise ClusterError(
                f"{self.spec.describe()} re-runs a task whose worker died up to {allowed} "
                "times, behind the queue's own retries (an attempt would run twice): start the "
                "scheduler with `DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 dask scheduler`."
            )


class KeptCluster:
    """One cluster for many runs (the daemon's batches): opened by the first run that needs it,
    kept while its scheduler is reachable (its workers keep their warm guests between
    batches), opened again after the scheduler went away, closed by `close`."""

    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        self._cluster: Cluster | None = None

    def get(self) -> Cluster:
        if self._cluster is not None and self._cluster.lost:
            self.close()
        if self._cluster is None:
            self._cluster = Cluster.open(self.spec)
        return self._cluster

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _allowed_failures(dask_scheduler: Any) -> int:
    return int(dask_scheduler.allowed_failures)


def _start_local(workers: int) -> LocalCluster:
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # The scheduler opens its HTTP server even without a dashboard: on a port of its own,
        # so that two clusters (two homes, tests) never fight over 8787.
        scheduler_kwargs={"dashboard_address": ":0", "allowed_failures": 0},
        silence_logs=logging.ERROR,
    )


def _connect(spec: ClusterSpec, local: LocalCluster | None) -> Client:
    from distributed import Client

    address = local if local is not None else spec.scheduler
    try:
        return Client(address, timeout=CONNECT_SECS, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        if local is not None:
            local.close()
        raise ClusterError(
            f"Cannot reach {spec.describe()} ({exc}): start it (`dask scheduler`) or check the "
            "address (`--scheduler tcp://HOST:8786`)."
        ) from None
