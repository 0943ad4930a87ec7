"""`casparian parser ...` as a user runs it: a real process on a real home."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from casparian_core.config import load_settings
from casparian_core.jobs import health
from casparian_core.jobs.model import JobRequest
from casparian_core.service import CoreService
from tests.cli.support import casparian, make_home, one_sentence
from tests.registry.support import write_package


async def register_through_the_service(home: Path, folder: Path) -> None:
    async with CoreService(load_settings(env={}, home=home)) as service:
        await service.registry.register(await service.registry.prepare(folder), approver="bob")
        await service.queue.enqueue([JobRequest("events", "1.0.0", "/data/a.csv")])


def test_without_a_terminal_or_yes_nothing_is_registered(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    folder = write_package(tmp_path / "pkg")

    result = casparian("parser", "register", str(folder), home=home)

    one_sentence(result, "events 1.0.0 was not registered", "no terminal", "--yes")
    assert "output events" in result.stdout
    assert "structure: freeze" in result.stdout
    assert "values: quarantine" in result.stdout
    assert "above 5% of an input's rows quarantined, the job fails" in result.stdout
    assert "ts      string  not null" in result.stdout
    listed = casparian("parser", "list", "--json", home=home)
    assert json.loads(listed.stdout) == {"parsers": []}


def test_a_refusal_names_what_to_run(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    folder = write_package(tmp_path / "pkg", dependencies=("pyarrow>=15",))

    result = casparian("parser", "register", str(folder), "--yes", home=home)

    one_sentence(result, "does not match pyproject.toml", f"`uv lock --directory {folder}`")


async def test_list_show_and_export_a_registered_parser(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    folder = write_package(tmp_path / "pkg")
    await register_through_the_service(home, folder)

    listed = casparian("parser", "list", home=home)
    assert listed.stdout.startswith("events  1.0.0  app_events  sha256 ")
    assert "by bob" in listed.stdout
    shown = casparian("parser", "show", "events", "--json", home=home)
    detail = json.loads(shown.stdout)
    assert (detail["version"], detail["versions"], detail["topics"]) == (
        "1.0.0",
        ["1.0.0"],
        ["app_events"],
    )
    [contract] = detail["contracts"]
    assert (contract["structure"], contract["values"], contract["approved_by"]) == (
        "freeze",
        "quarantine",
        "bob",
    )
    assert (detail["jobs"], detail["processed"], detail["health"]) == ({"QUEUED": 1}, 0, None)
    text = casparian("parser", "show", "events", home=home).stdout
    assert "jobs of this version: 1 QUEUED; 0 runs in its history" in text
    assert "health (events, every version): never run in production" in text
    assert "gatekeeper exceptions allowed: none" in text
    assert "approved by bob" in text

    exported = casparian("parser", "export", "events", "1.0.0", str(tmp_path / "out"), home=home)
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "out" / "events.py").read_bytes() == (folder / "events.py").read_bytes()
    again = casparian("parser", "export", "events", "1.0.0", str(tmp_path / "out"), home=home)
    one_sentence(again, "not an empty folder")
    one_sentence(casparian("parser", "show", "nope", home=home), "no parser named 'nope'")


async def test_resume_clears_a_paused_parsers_circuit_breaker(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    await register_through_the_service(home, write_package(tmp_path / "pkg"))
    conn = sqlite3.connect(load_settings(env={}, home=home).database_path)
    with conn:
        paused = [health.record_failure(conn, "events", "CRASHED", "t") for _ in range(5)]
    assert paused == [False] * 4 + [True]

    resumed = casparian("parser", "resume", "events", home=home)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith("Resumed events: its circuit breaker is cleared")
    [events] = health.health(conn, "events")
    assert not events.paused and events.consecutive_failures == 0
    again = casparian("parser", "resume", "events", home=home)
    assert again.stdout == "events is not paused: nothing to resume.\n"
    unknown = casparian("parser", "resume", "evnets", home=home)
    assert unknown.returncode == 2 and "evnets" in unknown.stderr
    conn.close()
