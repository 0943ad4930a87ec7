"""Every descendant of a guest ends with it; with Landlock, a guest writes only its own folder.

Real guests run parsers that fork, double fork and setsid, or try to write where they must not.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casparian_core.bridge import confine
from casparian_core.bridge.host import GuestProcess
from casparian_core.bridge.protocol import ErrorCode
from casparian_core.config import Settings
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.engine.run import run_parser
from tests.cli.support import casparian, make_home

from .conftest import WriteParser, run

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the subreaper is Linux's")
needs_landlock = pytest.mark.skipif(
    confine.landlock_abi() is None, reason="Landlock is not available on this kernel"
)

# The parser starts a process that sleeps for an hour and returns its pid. `how`: fork (a
# child), double (a grandchild whose parent exits: an orphan), setsid (a child in its own
# session), double-setsid (an orphan in its own session: a daemon).
FORKING_PARSER = """
import os, time
HOW = {how!r}
def parse(path):
    read, write = os.pipe()
    if os.fork() == 0:
        if HOW.startswith("double") and os.fork() != 0:
            os._exit(0)
        if HOW.endswith("setsid"):
            os.setsid()
        os.write(write, str(os.getpid()).encode())
        time.sleep(3600)
        os._exit(0)
    os.close(write)
    pid = int(os.read(read, 32))
    if HOW.startswith("double"):
        os.wait()  # the intermediate child
    return [{{"pid": pid}}]
"""


@linux_only
@pytest.mark.parametrize("how", ["fork", "double", "setsid", "double-setsid"])
@pytest.mark.parametrize("ending", ["close", "kill"])
def test_every_descendant_of_a_guest_ends_with_it(
    settings: Settings, write_parser: WriteParser, how: str, ending: str
) -> None:
    with GuestProcess(settings) as guest:  # no short heartbeat timeout: forks may be slow
        outcome, collected = run(guest, write_parser(FORKING_PARSER.format(how=how)))
        assert outcome.ok, outcome
        [row] = collected.rows("out")
        descendant = psutil.Process(int(row["pid"]))  # type: ignore[call-overload]
        assert descendant.is_running() and descendant.status() != psutil.STATUS_ZOMBIE
        guest.close() if ending == "close" else guest.kill()
        # Killed and reaped: no process, not even a zombie, is left.
        assert not psutil.pid_exists(descendant.pid)


@linux_only
def test_descendants_of_a_crashed_guest_end_when_the_host_notices(
    settings: Settings, write_parser: WriteParser
) -> None:
    parser = write_parser(
        FORKING_PARSER.format(how="double-setsid").replace(
            'return [{"pid": pid}]', 'print("pid", pid)\n    os._exit(9)'
        )
    )
    lines: list[str] = []
    with GuestProcess(settings, on_log=lambda job_id, level, text: lines.append(text)) as guest:
        outcome, _ = run(guest, parser)
        assert outcome.error_code == ErrorCode.CRASHED
    [pid] = [int(line.split()[1]) for line in lines if line.startswith("pid ")]
    assert not psutil.pid_exists(pid)


def test_a_guest_s_private_folder_is_its_tmpdir_only_its_own_and_removed_with_it(
    settings: Settings, write_parser: WriteParser
) -> None:
    parser = write_parser(
        """
        import os, tempfile
        def parse(path):
            with tempfile.NamedTemporaryFile(delete=False) as scratch:
                scratch.write(b"scratch")
            return [{"tmpdir": os.environ["TMPDIR"], "file": scratch.name}]
        """
    )
    with GuestProcess(settings) as guest:
        outcome, collected = run(guest, parser)
        assert outcome.ok, outcome
        [row] = collected.rows("out")
        private = Path(str(row["tmpdir"]))
        assert str(private) == guest.private_dir
        assert Path(str(row["file"])).read_bytes() == b"scratch"
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        guest.close()
        assert not private.exists()


@needs_landlock
@pytest.mark.parametrize(
    "target",
    ["output folder", "output part", "home", "control database", "beside the input"],
)
def test_a_confined_parser_cannot_write_outside_its_folder(
    settings: Settings, write_parser: WriteParser, tmp_path: Path, target: str
) -> None:
    outputs = tmp_path / "outputs" / "sales"
    outputs.mkdir(parents=True)
    part = outputs / "part-0.parquet"
    pq.write_table(pa.table({"id": [1, 2]}), part)
    database = settings.database_path
    database.write_bytes(b"SQLite format 3\x00")
    input_path = tmp_path / "input.csv"
    input_path.write_text("id\n1\n")
    action = {
        "output folder": f"open({str(outputs / 'injected.parquet')!r}, 'wb').write(b'x')",
        "output part": f"os.remove({str(part)!r})",
        "home": "open(os.path.expanduser('~/.bashrc'), 'a').write('evil')",
        "control database": f"open({str(database)!r}, 'r+b').write(b'garbage')",
        "beside the input": "open(path + '.out', 'w').write('x')",
    }[target]
    parser = write_parser(f"import os\ndef parse(path):\n    {action}\n    return []\n")
    Path(os.environ["HOME"]).mkdir(exist_ok=True)
    with GuestProcess(settings) as guest:
        outcome, _ = run(guest, parser, input_path)
    assert outcome.error_code == ErrorCode.PERMISSION_ERROR, outcome
    assert sorted(outputs.iterdir()) == [part]
    assert pq.read_table(part).column("id").to_pylist() == [1, 2]
    assert database.read_bytes() == b"SQLite format 3\x00"
    assert not Path(os.environ["HOME"], ".bashrc").exists()
    assert not Path(f"{input_path}.out").exists()


@needs_landlock
def test_a_run_whose_parser_deletes_another_run_s_output_fails_and_the_output_stays(
    settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    source = tmp_path / "ids.csv"
    source.write_text("id\n1\n2\n")
    first = tmp_path / "first"
    honest = write_parser(
        "def parse(path):\n    import pyarrow.csv as csv\n    return csv.read_csv(path)\n"
    )
    [done] = run_parser(honest, [source], settings, RunOptions(f"parquet://{first}"))
    assert done.status == RunStatus.COMPLETED
    before = {path: path.read_bytes() for path in first.rglob("*") if path.is_file()}
    hostile = write_parser(
        f"""
        import os
        def parse(path):
            for folder, _, names in os.walk({str(first)!r}):
                for name in names:
                    os.remove(os.path.join(folder, name))
                open(os.path.join(folder, "mine.parquet"), "wb").write(b"x")
            return [{{"id": 3}}]
        """
    )
    [failed] = run_parser(
        hostile, [source], settings, RunOptions(f"parquet://{tmp_path / 'second'}")
    )
    assert failed.status == RunStatus.FAILED
    assert failed.error_code == ErrorCode.PERMISSION_ERROR
    assert {path: path.read_bytes() for path in first.rglob("*") if path.is_file()} == before


def test_the_isolation_report_says_what_is_in_force() -> None:
    report = confine.guest_isolation()
    assert report.filesystem_confined == (confine.landlock_abi() is not None)
    if report.filesystem_confined:
        assert f"Landlock ABI {report.landlock_abi}" in report.description
    else:
        assert "no filesystem confinement" in report.description
    assert report.as_json()["description"] == report.description


def test_status_shows_the_isolation_once_in_text_and_json(home: Path) -> None:
    make_home(home)
    expected = confine.guest_isolation()
    text = casparian("status", home=home)
    assert text.returncode == 0, text.stderr
    assert text.stdout.count(expected.description) == 1
    found = json.loads(casparian("status", "--json", home=home).stdout)
    assert found["isolation"] == expected.as_json()


def test_guest_folders_of_hosts_that_ended_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    prefix = confine.PRIVATE_DIR_PREFIX
    dead = tmp_path / f"{prefix}{namespace}-{ended.pid}-abc"
    live = tmp_path / f"{prefix}{namespace}-{os.getpid()}-abc"
    elsewhere = tmp_path / f"{prefix}1-{ended.pid}-abc"  # another pid namespace: not judged
    unnamed = tmp_path / f"{prefix}abcdefgh"  # an older host's folder: no pid to judge by
    for folder in (dead, live, elsewhere, unnamed):
        (folder / "scratch").mkdir(parents=True)

    assert confine.remove_abandoned_private_dirs(str(tmp_path)) == [str(dead)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, elsewhere, unnamed)
    )


def test_a_guest_folder_is_named_for_its_host_so_a_later_host_can_judge_it() -> None:
    folder = Path(confine.new_private_dir())
    try:
        assert folder.name.startswith(f"{confine.PRIVATE_DIR_PREFIX}")
        assert f"-{os.getpid()}-" in folder.name
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    finally:
        confine.remove_private_dir(str(folder))
