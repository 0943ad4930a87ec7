"""Starting the worker processes of a local pool (jobs/process_pool.py), from a module light
enough to import first (~40 ms against ~240 for the pool's): `casparian process` starts them
before it imports the service, plans and enqueues (~0.2 s on one core), so that each imports
what it needs (~0.22 s) on the core that would wait meanwhile. A worker process started this
way waits for its configuration, which the pool sends when it runs.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from casparian_core import children
from casparian_core.sinks.uri import FOLDER_SCHEMES

if TYPE_CHECKING:
    from casparian_core.config import Settings
    from casparian_core.jobs.plan import ProcessRequest

# The environment variables a worker does not get: it needs no secret (DESIGN §7).
WITHHELD_VARIABLES = frozenset({"ANTHROPIC_API_KEY"})


def start_worker() -> children.Child:
    """A worker process: it imports what running jobs needs, then waits for its configuration
    (ProcessPool.run sends it)."""
    return children.start(
        [sys.executable, "-m", "casparian_core.jobs.worker_process"],
        env={k: v for k, v in os.environ.items() if k not in WITHHELD_VARIABLES},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def end_workers(workers: list[children.Child]) -> None:
    """Stop the worker processes (those done, and those never needed) and close their streams."""
    for child in workers:
        child.stop()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):  # a command it never read
                    stream.close()


def worker_processes(settings: Settings, request: ProcessRequest, sink_uri: str) -> int:
    """How many worker processes the local pool for `request` writing `sink_uri` starts (none:
    its workers are threads of this process, as for a database sink, which one process
    writes)."""
    workers = request.workers or settings.max_workers
    in_processes = workers > 1 and sink_uri.partition("://")[0] in FOLDER_SCHEMES
    return workers - 1 if in_processes else 0


class EarlyWorkers:
    """The worker processes of the local pool that will run `request`, started before the pool
    exists (none when another executor runs it): the pool `take`s them; those it never takes
    (the command failed first) end with the block."""

    def __init__(self, settings: Settings, request: ProcessRequest) -> None:
        self._children: list[children.Child] = []
        if (request.executor or settings.executor) == "local":
            sink_uri = request.sink_uri or settings.output_uri
            count = worker_processes(settings, request, sink_uri)
            self._children = [start_worker() for _ in range(count)]

    def take(self) -> list[children.Child]:
        taken, self._children = self._children, []
        return taken

    def __enter__(self) -> EarlyWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        end_workers(self.take())
