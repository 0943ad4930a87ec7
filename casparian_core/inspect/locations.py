"""Where outputs were written: `cf_output_locations` (db/schema.py, migration 10), kept by a
trigger when a queue job completes with its outputs, and by `record_locations` after a dev run
(`casparian run`), whose outputs no job of the queue knows."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from casparian_core.db.connection import connect, write_transaction
from casparian_core.errors import CasparianError

if TYPE_CHECKING:
    from casparian_core.config import Settings
    from casparian_core.db.gateway import Gateway
    from casparian_core.engine.results import RunResult

logger = logging.getLogger(__name__)

RECORD = """
INSERT INTO cf_output_locations (location, job_id, finished_at) VALUES (?, ?, ?)
ON CONFLICT (location) DO UPDATE SET job_id = excluded.job_id, finished_at = excluded.finished_at
"""


def output_locations(conn: sqlite3.Connection) -> dict[str, str]:
    """Each location jobs wrote an output to (as its sink's `location` states it), with the
    job that finished there last."""
    rows = conn.execute("SELECT location, job_id FROM cf_output_locations").fetchall()
    return {str(location): str(job_id) for location, job_id in rows}


def written_locations(results: Iterable[RunResult]) -> dict[str, str]:
    """Each location a dev run's inputs committed rows to (or found them committed: skipped),
    with the last of its runs there; a failed input committed nothing."""
    found: dict[str, str] = {}
    for result in results:
        if not result.ok or result.job_id is None:
            continue
        for output in result.outputs:
            if output.rows or output.quarantined or output.skipped:
                found[output.location] = result.job_id
    return found


def record_locations(conn: sqlite3.Connection, located: Mapping[str, str], at: str) -> None:
    """Record where a dev run wrote, each location with the run's job that wrote there last."""
    with write_transaction(conn):
        conn.executemany(RECORD, [(location, job, at) for location, job in located.items()])


def record_dev_run(settings: Settings, db: Gateway, results: Iterable[RunResult], at: str) -> None:
    """Record where a dev run wrote, in the home's database: through the service's gateway
    when it is open, else on a connection of its own when the home exists (a dev run creates
    no home). A database that cannot be written is a warning: the outputs are committed."""
    located = written_locations(results)
    if not located:
        return
    try:
        if db.is_open:
            with db.writing() as conn:
                record_locations(conn, located, at)
        elif settings.database_path.is_file():
            conn = connect(settings.database_path)
            try:
                record_locations(conn, located, at)
            finally:
                conn.close()
    except (CasparianError, sqlite3.Error) as error:
        logger.warning(
            "The run's outputs are written, but the home's database did not record where "
            "(%s): Inspect and `casparian tables` will not list them until a run records it.",
            error,
        )
