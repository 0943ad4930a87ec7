"""Queue tests run on a real, migrated control database file, with a clock the test moves."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from casparian_core.db.connection import connect
from casparian_core.errors import ErrorCode
from casparian_core.jobs import queue
from casparian_core.jobs.model import ClaimedJob, JobFailure, JobRequest
from tests.conftest import FIXED_NOW


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "casparian_flow.sqlite3"
    connect(path).close()  # created and migrated
    return path


@pytest.fixture
def conn(database: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(database, migrating=False)
    yield connection
    connection.close()


def request(
    name: str = "a.csv", parser: str = "sales", version: str = "1.0.0", priority: int = 0
) -> JobRequest:
    return JobRequest(parser, version, f"/data/{name}", priority=priority)


def enqueue_one(
    conn: sqlite3.Connection,
    clock: Clock,
    name: str = "a.csv",
    parser: str = "sales",
    priority: int = 0,
) -> str:
    [made] = queue.enqueue(conn, [request(name, parser, priority=priority)], clock())
    return made.job_id


def claim_one(conn: sqlite3.Connection, clock: Clock, worker: str = "w") -> ClaimedJob:
    claimed = queue.claim(conn, worker, clock())
    assert claimed is not None, "nothing was claimable"
    return claimed


TRANSIENT = JobFailure(ErrorCode.CRASHED, "the guest process died with SIGKILL", transient=True)
PERMANENT = JobFailure(
    ErrorCode.SCHEMA_MISMATCH,
    "KeyError: 'amount'",
    transient=False,
    traceback='Traceback (most recent call last):\n  File "/p/sales.py", line 3, in parse\n'
    "    row['amount']\nKeyError: 'amount'\n",
)
