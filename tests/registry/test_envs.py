"""Managed environments: venvs built from a parser's uv.lock with real uv, from a local wheels
folder (no network), cached per lock hash, built atomically, shared by concurrent builders."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import uv

from casparian_core.config import Settings, load_settings
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.engine.run import run_parser
from casparian_core.errors import ErrorCode
from casparian_core.registry import envs
from casparian_core.registry.env_errors import VenvBuildError, WheelsMissingError
from casparian_core.registry.envs import ensure_venv, lock_hash
from casparian_core.registry.requirements import export_pins, parser_project
from tests.registry.lockfiles import (
    SHIM_WHEELS,
    LockedProject,
    link_wheels,
    locked_project,
    shared_wheels,
    shim_wheels,
    write_index,
    write_wheel,
)


@dataclass(frozen=True)
class Fixture:
    project: LockedProject
    tiny_wheel: Path
    settings: Settings  # wheels_dir holds tinypkg, pyarrow and pyzmq


@pytest.fixture
def locked(tmp_path: Path, settings: Settings, run_folder: Path) -> Fixture:
    tiny = write_wheel(tmp_path / "built", "tinypkg", "0.1.0")
    write_index(tmp_path / "index", [tiny])
    project = locked_project(tmp_path / "tiny-parser", ["tinypkg==0.1.0"], tmp_path / "index")
    wheels = shared_wheels(run_folder, [tiny, *shim_wheels()])
    return Fixture(project, tiny, settings.model_copy(update={"wheels_dir": wheels}))


def own_wheels(locked: Fixture, tmp_path: Path) -> Fixture:
    """`locked` with a wheels folder of this test's own, which it may change."""
    wheels = link_wheels(tmp_path / "own-wheels", [locked.tiny_wheel, *shim_wheels()])
    return replace(locked, settings=locked.settings.model_copy(update={"wheels_dir": wheels}))


@pytest.fixture
def uv_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every run of the uv binary from now on is logged (its arguments, then its environment)
    to the returned file."""
    log = tmp_path / "uv-calls.log"
    wrapper = tmp_path / "uv-wrapper"
    real = uv.find_uv_bin()
    wrapper.write_text(
        f'#!/bin/sh\necho "ARGS $*" >> "{log}"\nenv | sed "s/^/ENV /" >> "{log}"\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    log.touch()
    monkeypatch.setattr(uv, "find_uv_bin", lambda: str(wrapper))
    return log


def uv_commands(log: Path) -> list[str]:
    return [line[5:] for line in log.read_text().splitlines() if line.startswith("ARGS ")]


def build(fixture: Fixture, progress: list[str] | None = None) -> Path:
    lines = [] if progress is None else progress
    return ensure_venv(
        fixture.settings,
        fixture.project.lock_text,
        fixture.project.pyproject_text,
        offline=True,
        progress=lines.append,
    )


def venv_python(venv: Path, code: str) -> str:
    python = venv / "bin" / "python"
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def venv_entries(settings: Settings) -> list[str]:
    """What the venvs folder holds besides the build lock files."""
    folder = settings.venvs_dir
    found = folder.iterdir() if folder.is_dir() else iter(())
    return sorted(entry.name for entry in found if not entry.name.endswith(".lock"))


def test_a_cold_build_installs_the_lock_and_the_shims_packages_with_the_hosts_python(
    locked: Fixture,
) -> None:
    progress: list[str] = []
    venv = build(locked, progress)

    digest = hashlib.sha256(locked.project.lock_text.encode()).hexdigest()
    assert lock_hash(locked.project.lock_text) == digest
    assert venv == locked.settings.venvs_dir / digest
    assert venv_entries(locked.settings) == [digest]
    report = venv_python(
        venv,
        "import json, sys, tinypkg, pyarrow, zmq;"
        "print(json.dumps([tinypkg.VALUE, pyarrow.__version__, zmq.__version__,"
        " list(sys.version_info[:3]), sys.prefix]))",
    )
    assert (
        json.loads(report)
        == [
            "tinypkg 0.1.0",
            version("pyarrow"),  # the lock lacks them: the host's exact versions
            version("pyzmq"),
            list(sys.version_info[:3]),
            str(venv),
        ]
    )
    assert progress[0].startswith(f"Building the environment of lock {digest[:12]}")
    assert any("tinypkg==0.1.0" in line for line in progress)  # uv's own lines pass through
    assert progress[-1].startswith("Environment ready in")


def test_a_built_venv_is_reused_without_running_uv(locked: Fixture, uv_calls: Path) -> None:
    venv = build(locked)
    assert "venv" in " ".join(uv_commands(uv_calls))  # the wrapper sees the cold build
    calls = len(uv_commands(uv_calls))

    again = ensure_venv(
        load_settings(env={}, home=locked.settings.home),  # another process's settings
        locked.project.lock_text,
        locked.project.pyproject_text,
    )
    assert again == venv
    assert len(uv_commands(uv_calls)) == calls


def test_uv_runs_without_the_hosts_secrets(
    locked: Fixture, uv_calls: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    build(locked)
    log = uv_calls.read_text()
    assert "ENV PATH=" in log
    assert "sk-ant-secret" not in log
    assert "aws-secret" not in log


def test_an_offline_build_without_a_needed_wheel_names_it_and_the_vendor_command(
    locked: Fixture, uv_calls: Path, tmp_path: Path
) -> None:
    locked = own_wheels(locked, tmp_path)
    (locked.settings.wheels_dir / locked.tiny_wheel.name).unlink()
    with pytest.raises(WheelsMissingError) as caught:
        build(locked)
    message = str(caught.value)
    assert caught.value.error_code == ErrorCode.WHEELS_MISSING
    assert "tinypkg 0.1.0" in message
    assert str(locked.settings.wheels_dir) in message
    assert "casparian vendor" in message
    assert venv_entries(locked.settings) == []
    assert [c for c in uv_commands(uv_calls) if c.startswith(("venv", "pip"))] == []


def test_a_build_that_fails_halfway_keeps_nothing_and_a_later_build_succeeds(
    locked: Fixture, uv_calls: Path, tmp_path: Path
) -> None:
    locked = own_wheels(locked, tmp_path)
    damaged = locked.settings.wheels_dir / locked.tiny_wheel.name
    damaged.unlink()
    damaged.write_bytes(b"not a zip file")  # the venv is created, then the install fails

    with pytest.raises(VenvBuildError) as caught:
        build(locked)
    assert caught.value.error_code == ErrorCode.VENV_BUILD_FAILED
    assert "tinypkg" in str(caught.value)
    assert "nothing was kept" in str(caught.value)
    assert any(c.startswith("venv") for c in uv_commands(uv_calls))  # it did fail halfway
    assert venv_entries(locked.settings) == []

    damaged.unlink()
    damaged.symlink_to(locked.tiny_wheel)
    venv = build(locked)
    assert venv_python(venv, "import tinypkg; print(tinypkg.VALUE)") == "tinypkg 0.1.0"


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_crashed_builds_leftovers_are_removed_and_never_used(locked: Fixture) -> None:
    digest = lock_hash(locked.project.lock_text)
    venvs_dir = locked.settings.venvs_dir
    scratch = venvs_dir / f"{dead_pid()}-{digest}.tmp"
    (scratch / "bin").mkdir(parents=True)
    # A venv folder without its marker (as a build that crashed before the rename would
    # leave, were it built in place): not finished, so not used.
    half = venvs_dir / digest
    (half / "bin").mkdir(parents=True)
    (half / "bin" / "python").symlink_to(sys.executable)
    (half / "half-built").touch()
    neighbour = venvs_dir / f"{os.getpid()}-{'0' * 64}.tmp"  # a live process's build
    neighbour.mkdir()

    venv = build(locked)

    assert venv == half
    assert not (venv / "half-built").exists()
    assert venv_python(venv, "import tinypkg; print(tinypkg.VALUE)") == "tinypkg 0.1.0"
    assert not scratch.exists()
    assert neighbour.exists()


def test_a_venv_of_another_python_version_is_rebuilt(locked: Fixture, uv_calls: Path) -> None:
    venv = build(locked)
    marker = venv / envs.MARKER
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "python": "3.10.0"}))
    calls = len(uv_commands(uv_calls))

    assert build(locked) == venv
    assert len(uv_commands(uv_calls)) > calls
    assert json.loads(marker.read_text())["python"] == ".".join(map(str, sys.version_info[:3]))
    assert venv_entries(locked.settings) == [venv.name]


BUILDER = """
import sys, uv
from pathlib import Path
from casparian_core.config import load_settings
from casparian_core.registry.envs import ensure_venv
uv.find_uv_bin = lambda: sys.argv[5]
settings = load_settings(env={}, home=sys.argv[1]).model_copy(
    update={"wheels_dir": Path(sys.argv[2])})
lock, pyproject = Path(sys.argv[3]).read_text(), Path(sys.argv[4]).read_text()
print(ensure_venv(settings, lock, pyproject, offline=True))
"""


def start_builder(fixture: Fixture, uv_path: str) -> subprocess.Popen[str]:
    """A process of its own (and process group) that builds the fixture's venv with `uv_path`
    as the uv binary, and prints the venv's path."""
    project = fixture.project.folder
    settings = fixture.settings
    args = [settings.home, settings.wheels_dir, project / "uv.lock", project / "pyproject.toml"]
    return subprocess.Popen(
        [sys.executable, "-c", BUILDER, *map(str, args), uv_path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_two_processes_building_the_same_lock_share_one_build(
    locked: Fixture, uv_calls: Path
) -> None:
    builders = [start_builder(locked, uv.find_uv_bin()) for _ in range(2)]  # logged uv
    outputs = [builder.communicate() for builder in builders]

    assert [builder.returncode for builder in builders] == [0, 0], outputs
    digest = lock_hash(locked.project.lock_text)
    assert {out.strip() for out, _err in outputs} == {str(locked.settings.venvs_dir / digest)}
    assert venv_entries(locked.settings) == [digest]
    assert len([c for c in uv_commands(uv_calls) if c.startswith("venv")]) == 1


PARSER = """
import sys
import tinypkg

def parse(path):
    return [{"value": tinypkg.VALUE, "prefix": sys.prefix}]
"""


def test_a_guest_runs_a_parser_in_the_built_venv(locked: Fixture, tmp_path: Path) -> None:
    venv = build(locked)
    parser = tmp_path / "tiny_parser.py"
    parser.write_text(PARSER)
    data = tmp_path / "input.txt"
    data.write_text("anything\n")
    out = tmp_path / "out"

    [result] = run_parser(
        parser, [data], locked.settings, RunOptions(f"parquet://{out}", venv=venv)
    )

    assert result.status == RunStatus.COMPLETED, result.error_message
    rows = pq.read_table(out / "tiny_parser").select(["value", "prefix"]).to_pylist()
    assert rows == [{"value": "tinypkg 0.1.0", "prefix": str(venv)}]


def test_the_wheels_folder_is_in_the_home_unless_set(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert load_settings(env={}, home=home).wheels_dir == home / "wheels"
    chosen = load_settings(env={"CASPARIAN_WHEELS_DIR": str(tmp_path / "w")}, home=home)
    assert chosen.wheels_dir == tmp_path / "w"


def test_a_lock_uv_cannot_read_is_a_build_error_saying_to_lock_again(locked: Fixture) -> None:
    with pytest.raises(VenvBuildError, match="uv lock"):
        ensure_venv(locked.settings, "this is not a lock", locked.project.pyproject_text)
    assert venv_entries(locked.settings) == []


def test_a_pin_for_another_platform_needs_no_wheel_here(tmp_path: Path, settings: Settings) -> None:
    tiny = write_wheel(tmp_path / "built", "tinypkg", "0.1.0")
    write_index(tmp_path / "index", [tiny])
    project = locked_project(
        tmp_path / "win-parser", ["tinypkg==0.1.0; sys_platform == 'win32'"], tmp_path / "index"
    )
    wheels = link_wheels(tmp_path / "wheels", shim_wheels())  # no tinypkg
    offline = settings.model_copy(update={"wheels_dir": wheels})

    venv = ensure_venv(offline, project.lock_text, project.pyproject_text, offline=True)

    assert venv_python(venv, "import importlib.util as u; print(u.find_spec('tinypkg'))") == "None"


def test_the_shim_gets_the_hosts_version_only_of_what_the_lock_does_not_pin(
    tmp_path: Path,
) -> None:
    [pyarrow_wheel] = SHIM_WHEELS.glob(f"pyarrow-{version('pyarrow')}-*.whl")
    write_index(tmp_path / "index", [pyarrow_wheel])
    project = locked_project(
        tmp_path / "arrow-parser", [f"pyarrow=={version('pyarrow')}"], tmp_path / "index"
    )

    with parser_project(project.lock_text, project.pyproject_text) as folder:
        lock = export_pins(folder, None)

    assert [(pin.name, pin.version) for pin in lock.pins] == [("pyarrow", version("pyarrow"))]
    assert "--hash=sha256:" in lock.pins[0].line  # installed with the lock's hash checked
    assert lock.shim == (("pyzmq", version("pyzmq")),)


HANGING_UV = """#!/bin/sh
if [ "$1" = pip ]; then touch "{started}"; exec sleep 600; fi
exec "{real}" "$@"
"""
WAIT_SECS = 60


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_SECS
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_build_killed_midway_leaves_nothing_that_is_used(locked: Fixture, tmp_path: Path) -> None:
    started = tmp_path / "install-started"
    hanging = tmp_path / "hanging-uv"
    hanging.write_text(HANGING_UV.format(started=started, real=uv.find_uv_bin()))
    hanging.chmod(hanging.stat().st_mode | stat.S_IXUSR)
    builder = start_builder(locked, str(hanging))
    wait_for(started, builder)  # the venv exists, its packages are being installed
    os.killpg(builder.pid, signal.SIGKILL)
    builder.communicate()
    digest = lock_hash(locked.project.lock_text)
    assert venv_entries(locked.settings) == [f"{builder.pid}-{digest}.tmp"]

    venv = build(locked)

    assert venv_entries(locked.settings) == [digest]
    assert venv_python(venv, "import tinypkg; print(tinypkg.VALUE)") == "tinypkg 0.1.0"


def test_an_unusable_venvs_folder_is_a_build_error(locked: Fixture) -> None:
    locked.settings.venvs_dir.write_text("a file where the venvs folder belongs")
    with pytest.raises(VenvBuildError, match="Cannot build a parser environment"):
        build(locked)


def test_a_missing_uv_binary_says_to_reinstall(
    locked: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost() -> str:
        raise FileNotFoundError("uv")

    monkeypatch.setattr(uv, "find_uv_bin", lost)
    with pytest.raises(VenvBuildError, match="reinstall"):
        build(locked)


def test_a_lock_for_a_newer_python_than_the_hosts_is_refused(locked: Fixture) -> None:
    lock, pyproject = (
        text.replace('requires-python = ">=3.11"', 'requires-python = ">=3.99"')
        for text in (locked.project.lock_text, locked.project.pyproject_text)
    )
    with pytest.raises(VenvBuildError, match=r"requires Python >=3\.99; Casparian runs on"):
        ensure_venv(locked.settings, lock, pyproject, offline=True)
    assert venv_entries(locked.settings) == []


def test_an_online_build_uses_the_index_the_parsers_pyproject_names(
    tmp_path: Path, settings: Settings
) -> None:
    # No --offline: uv may use an index. The parser's pyproject names its own (here a local
    # one holding every wheel), which the build must use rather than PyPI.
    tiny = write_wheel(tmp_path / "built", "tinypkg", "0.1.0")
    index = tmp_path / "index"
    write_index(index, [tiny, *shim_wheels()])
    own_index = f'[[tool.uv.index]]\nurl = "{index.as_uri()}"\ndefault = true\n'
    project = locked_project(tmp_path / "indexed", ["tinypkg==0.1.0"], index, own_index)

    venv = ensure_venv(settings, project.lock_text, project.pyproject_text)

    assert venv_python(venv, "import tinypkg, pyarrow, zmq; print(tinypkg.VALUE)") == (
        "tinypkg 0.1.0"
    )


def test_a_builder_that_finds_the_build_locked_says_it_waits_then_builds(
    locked: Fixture,
) -> None:
    digest = lock_hash(locked.project.lock_text)
    locked.settings.venvs_dir.mkdir(parents=True)
    waiting = threading.Event()
    progress: list[str] = []
    built: list[Path] = []

    def note(line: str) -> None:
        progress.append(line)
        if line.startswith("Waiting for another Casparian process"):
            waiting.set()

    with (locked.settings.venvs_dir / f".{digest}.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as another process building this lock would
        builder = threading.Thread(
            target=lambda: built.append(
                ensure_venv(
                    locked.settings,
                    locked.project.lock_text,
                    locked.project.pyproject_text,
                    offline=True,
                    progress=note,
                )
            )
        )
        builder.start()
        assert waiting.wait(WAIT_SECS)
        assert not any(line.startswith("Building") for line in progress)
        fcntl.flock(held, fcntl.LOCK_UN)
    builder.join(WAIT_SECS)

    assert built == [locked.settings.venvs_dir / digest]
    assert progress[-1].startswith("Environment ready")
