"""The key that names a claimed job's rows in the outputs (`_cf_input_key`): a replay's own,
else its catalogued file's `{source}/{rel_path}`, else its path. What every executor gives the
session with the job's input; a batch of claimed jobs has its files read in one query."""

from __future__ import annotations

from collections.abc import Sequence

from casparian_core.db.gateway import Gateway
from casparian_core.jobs.model import ClaimedJob
from casparian_core.scout import queries


def input_key(source_name: str, rel_path: str) -> str:
    return f"{source_name}/{rel_path}"


class InputKeys:
    def __init__(self, db: Gateway) -> None:
        self._db = db
        self._sources: dict[int, str] = {}  # source id -> name, read again for a new source

    def of(self, job: ClaimedJob) -> str:
        return self.of_all([job])[0]

    def of_all(self, jobs: Sequence[ClaimedJob]) -> list[str]:
        """Each job's key, in order."""
        wanted = [job.file_id for job in jobs if job.input_key is None and job.file_id is not None]
        files: dict[int, queries.FileRow] = {}
        if wanted:
            with self._db.reading() as conn:
                files = queries.files_by_ids(conn, wanted)
                if any(row.source_id not in self._sources for row in files.values()):
                    from casparian_core.scout import sources

                    self._sources = {s.id: s.name for s in sources.list_sources(conn)}
        return [self._key(job, files) for job in jobs]

    def _key(self, job: ClaimedJob, files: dict[int, queries.FileRow]) -> str:
        if job.input_key is not None:  # a replay's: the key its earlier parts have
            return job.input_key
        row = None if job.file_id is None else files.get(job.file_id)
        if row is None:
            return job.input_path  # not catalogued (any more): its path is all that names it
        return input_key(self._sources[row.source_id], row.rel_path)
