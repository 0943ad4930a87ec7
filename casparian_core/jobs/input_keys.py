"""The key that names a claimed job's rows in the outputs (`_cf_input_key`): a replay's own,
else its catalogued file's `{source}/{rel_path}`, else its path. What every executor gives the
session with the job's input."""

from __future__ import annotations

from casparian_core.db.gateway import Gateway
from casparian_core.jobs.model import ClaimedJob
from casparian_core.jobs.plan import input_key
from casparian_core.scout import queries


class InputKeys:
    def __init__(self, db: Gateway) -> None:
        self._db = db
        self._sources: dict[int, str] = {}  # source id -> name, read again for a new source

    def of(self, job: ClaimedJob) -> str:
        if job.input_key is not None:  # a replay's: the key its earlier parts have
            return job.input_key
        if job.file_id is None:
            return job.input_path
        with self._db.reading() as conn:
            found = queries.file_by_id(conn, job.file_id)
            if found and found[0].source_id not in self._sources:
                from casparian_core.scout import sources

                self._sources = {s.id: s.name for s in sources.list_sources(conn)}
        if not found:
            return job.input_path  # no longer catalogued: its path is all that names it
        row = found[0]
        return input_key(self._sources[row.source_id], row.rel_path)
