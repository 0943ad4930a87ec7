"""`casparian jobs` and `casparian errors` as a user runs them: a real process on a real home
whose queue was filled through the queue's own functions."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from casparian_core.config import load_settings
from casparian_core.db.connection import connect
from casparian_core.errors import ErrorCode
from casparian_core.jobs import queue
from casparian_core.jobs.model import JobFailure, JobRequest, JobSuccess
from tests.cli.support import casparian, make_home, one_sentence
from tests.conftest import FIXED_NOW


def trace(folder: str, line: int) -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "{folder}/sales.py", line {line}, in parse\n'
        "    amount = row['amount']\n"
        "KeyError: 'amount'\n"
    )


@dataclass(frozen=True)
class Seeded:
    home: Path
    failed: str  # permanently, on a.csv
    also_failed: str  # the same cause, on b.csv
    done: str  # c.csv
    queued: str  # d.csv, of the parser `logs`
    fingerprint: str


def fail(conn: sqlite3.Connection, job_id: str, where: str, line: int) -> str:
    claimed = queue.claim(conn, "w", FIXED_NOW)
    assert claimed is not None and claimed.job_id == job_id
    failure = JobFailure(
        ErrorCode.SCHEMA_MISMATCH, "KeyError: 'amount'", False, trace(where, line), {"row": 1}
    )
    outcome = queue.fail(conn, job_id, "w", failure, FIXED_NOW)
    assert outcome is not None
    return outcome.fingerprint


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(make_home(tmp_path / "home"))


def seed(home: Path) -> Seeded:
    """Four jobs: two failed of one cause, one completed, one queued."""
    database = load_settings(env={}, home=home).database_path
    with closing(connect(database, migrating=False)) as conn:
        requests = [JobRequest("sales", "1.0.0", f"/data/{n}.csv") for n in "abc"]
        requests.append(JobRequest("logs", "2.0.0", "/data/d.csv", priority=-1))
        failed, also_failed, done, queued = (
            e.job_id for e in queue.enqueue(conn, requests, FIXED_NOW)
        )
        fingerprint = fail(conn, failed, "/home/ana", 3)
        assert fail(conn, also_failed, "/srv/flow", 30) == fingerprint
        assert queue.claim(conn, "w", FIXED_NOW) is not None
        outputs = {"sales": {"rows": 12, "location": "/out/sales"}}
        assert queue.complete(conn, done, "w", JobSuccess(12, 0, outputs), FIXED_NOW)
    return Seeded(home, failed, also_failed, done, queued, fingerprint)


def ok(*args: str, home: Path) -> str:
    result = casparian(*args, home=home)
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def test_jobs_lists_newest_first_and_filters(seeded: Seeded) -> None:
    lines = ok("jobs", home=seeded.home).splitlines()
    assert [line.split()[0] for line in lines] == [
        seeded.queued,
        seeded.done,
        seeded.also_failed,
        seeded.failed,
    ]
    assert lines[0].split()[1:] == ["QUEUED", "logs", "2.0.0", "/data/d.csv"]
    assert lines[3].endswith("/data/a.csv  SCHEMA_MISMATCH")

    failed = ok("jobs", "--status", "failed", home=seeded.home).splitlines()
    assert [line.split()[0] for line in failed] == [seeded.also_failed, seeded.failed]
    pending = ok("jobs", "--status", "pending", "--parser", "logs", home=seeded.home)
    assert pending.split()[0] == seeded.queued
    assert ok("jobs", "--parser", "nope", home=seeded.home) == "No jobs match.\n"


def test_jobs_json_is_one_object(seeded: Seeded) -> None:
    listed = json.loads(ok("jobs", "--status", "completed", "--json", home=seeded.home))
    [job] = listed["jobs"]
    assert (job["job_id"], job["status"], job["rows_out"]) == (seeded.done, "COMPLETED", 12)


def test_a_wrong_status_is_a_usage_error_naming_the_choices(seeded: Seeded) -> None:
    result = casparian("jobs", "--status", "broken", home=seeded.home)
    assert result.returncode == 2
    assert "'broken' is not a job status: use one of pending, queued, running" in result.stderr


def test_jobs_show_gives_the_error_trace_and_dead_letter(seeded: Seeded) -> None:
    shown = ok("jobs", "show", seeded.failed, home=seeded.home)
    assert f"job {seeded.failed}: FAILED" in shown
    assert "  error     SCHEMA_MISMATCH: KeyError: 'amount'" in shown
    assert f"  error id  {seeded.fingerprint}" in shown
    assert "permanent failure (SCHEMA_MISMATCH): not retried" in shown
    assert "    KeyError: 'amount'" in shown  # the trace's end
    detail = json.loads(ok("jobs", "show", seeded.done, "--json", home=seeded.home))
    assert detail["outputs"] == {"sales": {"rows": 12, "location": "/out/sales"}}


def test_jobs_show_names_the_sink_a_job_is_for(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    database = load_settings(env={}, home=home).database_path
    with closing(connect(database, migrating=False)) as conn:
        request = JobRequest("sales", "1.0.0", "/data/a.csv", sink_uri="duckdb:////out/x.duckdb")
        [job] = queue.enqueue(conn, [request], FIXED_NOW)

    shown = ok("jobs", "show", job.job_id, home=home)

    assert "  sink      duckdb:////out/x.duckdb" in shown  # only a pool writing there runs it


def test_retry_cancel_and_replay_change_the_job_and_say_so(seeded: Seeded) -> None:
    assert ok("jobs", "retry", seeded.failed, home=seeded.home) == (
        f"Job {seeded.failed} is queued again.\n"
    )
    assert ok("jobs", "cancel", seeded.failed, home=seeded.home) == (
        f"Job {seeded.failed} is cancelled.\n"
    )
    one_sentence(
        casparian("jobs", "cancel", seeded.done, home=seeded.home),
        f"The job {seeded.done} is COMPLETED: only a queued or running job can be cancelled",
    )

    letters = ok("jobs", "--dead-letter", home=seeded.home)
    assert letters.splitlines()[0].startswith(f"{seeded.also_failed}  sales 1.0.0  /data/b.csv")
    assert "casparian jobs replay ID" in letters
    ok("jobs", "replay", seeded.also_failed, home=seeded.home)
    assert ok("jobs", "--dead-letter", home=seeded.home) == "No dead letters.\n"
    one_sentence(
        casparian("jobs", "replay", seeded.also_failed, home=seeded.home),
        "it has no dead letter to replay",
    )
    one_sentence(casparian("jobs", "show", "f" * 32, home=seeded.home), "There is no job")


def test_errors_group_failures_by_fingerprint(seeded: Seeded) -> None:
    listed = ok("errors", "list", home=seeded.home)
    assert listed.splitlines()[0].startswith(
        f"2 occurrences of ERR-{seeded.fingerprint} across 2 files: KeyError, SCHEMA_MISMATCH"
    )
    shown = ok("errors", "show", f"ERR-{seeded.fingerprint}", home=seeded.home)
    assert 'File "sales.py", in parse' in shown and "  context   row:number" in shown
    files = ok("errors", "files", seeded.fingerprint, home=seeded.home).splitlines()
    assert [line.split()[:2] for line in files] == [["1", "/data/a.csv"], ["1", "/data/b.csv"]]
    as_json = json.loads(ok("errors", "list", "--json", home=seeded.home))
    assert as_json["errors"][0]["occurrences"] == 2
    one_sentence(
        casparian("errors", "files", "0123456789abcdef", home=seeded.home),
        "No error has the fingerprint",
    )
