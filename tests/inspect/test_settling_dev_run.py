"""`casparian run` settles the quarantine entries an earlier version of its parser left in the
output it writes, when its home has a control plane (inspect/settling.py, DevRunSettling): a
row the new version passes is resolved by the dev run's job, that version (as its file
declares it: the parser need not be registered) and the OS user; a row still bad stays open;
a run that fails settles nothing and leaves nothing pending. A Parser Bench test settles alike."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from casparian_core.api import QuarantineState
from casparian_core.config import load_settings
from casparian_core.service import CoreService
from tests.cli.support import casparian, make_home
from tests.inspect.replay_support import FIRST, FIXED, RAISING, write_files
from tests.inspect.test_replay_by_runs import pending_rows


def dev_run(home: Path, work: Path, source: str) -> dict[str, object]:
    """Run the parser `source` on the data folder into ./output, as a user does."""
    (work / "prices.py").write_text(source)
    ran = casparian("run", "prices.py", "data", "--json", home=home, cwd=work)
    found: dict[str, object] = json.loads(ran.stdout)
    return found


def prepared(tmp_path: Path) -> tuple[Path, Path]:
    home = make_home(tmp_path / "home")
    work = tmp_path / "work"
    write_files(work / "data")
    assert dev_run(home, work, FIRST)["status"] == "COMPLETED_WITH_WARNINGS"  # 3 entries
    return home, work


def entries(home: Path, *args: str) -> list[dict[str, object]]:
    listed = casparian("quarantine", "list", "--json", *args, home=home)
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, object]] = json.loads(listed.stdout)["entries"]
    return found


async def pending(home: Path) -> int:
    async with CoreService(load_settings(env={}, home=home)) as service:
        return await pending_rows(service)


async def test_a_dev_run_of_a_new_version_resolves_what_it_now_passes(tmp_path: Path) -> None:
    home, work = prepared(tmp_path)
    before = {str(e["id"]) for e in entries(home)}

    result = dev_run(home, work, FIXED)

    assert result["status"] == "COMPLETED_WITH_WARNINGS"
    still = entries(home)
    resolved = entries(home, "--resolved")
    assert len(before) == 3 and await pending(home) == 0
    assert [(Path(str(e["source_file"])).name, e["row_number"], e["parser"]) for e in still] == [
        ("a.csv", 2, "prices@2.0.0")  # "bad": still quarantined, the new run's entry
    ]
    assert sorted((Path(str(e["source_file"])).name, e["row_number"]) for e in resolved) == [
        ("a.csv", 1),
        ("c.csv", 0),
    ]
    for entry in resolved:
        assert entry["id"] in before and entry["parser"] == "prices@1.0.0"  # as while open
        assert entry["resolved_version"] == "prices@2.0.0"
        assert entry["resolved_by"] == getpass.getuser() and entry["resolved_job_id"]


async def test_a_dev_run_that_fails_settles_nothing(tmp_path: Path) -> None:
    home, work = prepared(tmp_path)
    before = sorted(str(e["id"]) for e in entries(home))

    result = dev_run(home, work, RAISING)

    assert result["status"] == "FAILED"
    assert sorted(str(e["id"]) for e in entries(home)) == before
    assert entries(home, "--resolved") == [] and await pending(home) == 0


async def test_a_dev_run_of_the_same_version_records_nothing(tmp_path: Path) -> None:
    home, work = prepared(tmp_path)
    before = sorted(str(e["id"]) for e in entries(home))

    (work / "prices.py").write_text(FIRST)
    ran = casparian("run", "prices.py", "data", "--force", "--json", home=home, cwd=work)

    assert json.loads(ran.stdout)["status"] == "COMPLETED_WITH_WARNINGS"
    after = entries(home)
    assert len(after) == 3 and sorted(str(e["id"]) for e in after) != before  # the new run's
    assert entries(home, "--resolved") == [] and await pending(home) == 0


async def test_a_parser_bench_test_of_a_new_version_resolves_what_it_now_passes(
    service: CoreService, tmp_path: Path
) -> None:
    write_files(tmp_path / "data")
    parser = service.settings.parsers_dir / "prices.py"
    parser.write_text(FIRST)
    first = await service.bench.test_parser(parser, tmp_path / "data" / "a.csv")
    parser.write_text(FIXED)
    fixed = await service.bench.test_parser(parser, tmp_path / "data" / "a.csv")

    still = (await service.inspect.quarantine()).entries
    resolved = (await service.inspect.quarantine(state=QuarantineState.RESOLVED)).entries
    assert [o.quarantined for o in first.outputs] == [2] and await pending_rows(service) == 0
    assert [(e.row_number, e.parser) for e in still] == [(2, "prices@2.0.0")]
    assert [(e.row_number, e.resolved_version) for e in resolved] == [(1, "prices@2.0.0")]
    assert resolved[0].resolved_job_id == fixed.job_id
