"""What the Dask executor refuses or loses: the extra not installed, a cluster that cannot be
reached, is set up to re-run tasks behind our back, or went away, and a worker that cannot see
the shared storage."""

from __future__ import annotations

from casparian_core.errors import CasparianError, ErrorCode

INSTALL = "pip install 'casparian-flow[dask]'"


class DaskMissingError(CasparianError):
    error_code = ErrorCode.DASK_MISSING

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"The Dask executor needs the `{missing}` package, which is not installed: run "
            f"`{INSTALL}` (it installs dask and distributed), or use `--executor local`."
        )


class ClusterError(CasparianError):
    """The scheduler cannot be reached, went away, or runs with its own retries on."""

    error_code = ErrorCode.CLUSTER_UNAVAILABLE


class SharedStorageError(CasparianError):
    """A worker cannot read the inputs or parsers, or write the output: checked once at start,
    before any job is claimed."""

    error_code = ErrorCode.SHARED_STORAGE
