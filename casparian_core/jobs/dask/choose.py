"""Choosing the Dask executor for a `process` or daemon request: which cluster, and the checks
that need no cluster (the extra installed, a folder sink, a scheduler's address)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from casparian_core.errors import ConfigError
from casparian_core.jobs.dask.cluster import LOCAL, REMOTE, ClusterSpec, KeptCluster, require_dask
from casparian_core.jobs.executor import ReportCallback
from casparian_core.jobs.plan import ProcessRequest

if TYPE_CHECKING:
    from casparian_core.jobs.dask.driver import DaskExecutor
    from casparian_core.service import CoreService


def cluster_spec(
    service: CoreService, request: ProcessRequest, executor: str, sink_uri: str
) -> ClusterSpec:
    """The cluster `executor` (dask or dask-local) names; raises what the user must fix: the
    extra not installed, a sink that is not a folder, no scheduler's address."""
    from casparian_core.jobs.dask.driver import absolute_folder_sink

    require_dask()
    absolute_folder_sink(sink_uri)
    settings = service.settings
    if executor == LOCAL:
        return ClusterSpec(None, request.workers or settings.max_workers)
    if executor != REMOTE:
        raise ConfigError(f"Unknown executor {executor!r}: use local, dask or dask-local.")
    scheduler = request.scheduler or settings.dask_scheduler
    if not scheduler:
        raise ConfigError(
            "The dask executor needs its scheduler's address: `--scheduler tcp://HOST:8786`, "
            "or dask_scheduler in config.toml (or `--executor dask-local --workers N` for a "
            "cluster on this machine)."
        )
    return ClusterSpec(scheduler)


def dask_executor(
    service: CoreService,
    request: ProcessRequest,
    executor: str,
    sink_uri: str,
    on_report: ReportCallback,
    kept: KeptCluster | None = None,
) -> DaskExecutor:
    """The Dask executor for one run: on `kept` (a cluster the caller keeps between runs), or
    on a cluster it opens and closes itself."""
    from casparian_core.jobs.dask.driver import DaskExecutor

    spec = cluster_spec(service, request, executor, sink_uri) if kept is None else kept.spec
    return DaskExecutor(
        service, spec, sink_uri=sink_uri, offline=request.offline, on_report=on_report, kept=kept
    )
