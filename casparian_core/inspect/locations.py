"""Where the queue's jobs wrote outputs: `cf_output_locations` (db/schema.py, migration 10),
kept by a trigger when a job completes with its outputs."""

from __future__ import annotations

import sqlite3


def output_locations(conn: sqlite3.Connection) -> dict[str, str]:
    """Each location jobs wrote an output to (as its sink's `location` states it), with the
    job that finished there last."""
    rows = conn.execute("SELECT location, job_id FROM cf_output_locations").fetchall()
    return {str(location): str(job_id) for location, job_id in rows}
