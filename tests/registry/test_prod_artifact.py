"""Prod runs the registered artifact in its managed venv, never the working copy: a parser
project locked by real uv (offline, against a local index) is registered, materialized with
`runnable` and run through a ParserSession."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from casparian_cli import main
from casparian_core.config import Settings
from casparian_core.engine.results import InputItem, RunStatus
from casparian_core.engine.session import ParserSession
from casparian_core.registry.errors import LockMismatchError
from casparian_core.service import CoreService
from casparian_core.sinks import open_sink
from tests.cli.support import casparian, make_home
from tests.conftest import fixed_clock
from tests.registry.lockfiles import shim_wheels
from tests.registry.test_envs import Fixture, locked
from tests.registry.test_envs_vendor import serve_wheels

__all__ = ["locked"]  # the fixture, used by name

PARSER = """\
import tinypkg


class Tiny:
    name = "tiny"
    version = "1.0.0"
    topics = ["tiny_files"]
    outputs = {"tiny": {"value": {"type": "string", "nullable": False}, "origin": "string"}}

    def parse(self, ctx):
        yield "tiny", [{"value": tinypkg.VALUE, "origin": __file__}]
"""


@dataclass(frozen=True)
class Project:
    folder: Path
    settings: Settings  # wheels_dir holds tinypkg, pyarrow and pyzmq
    tiny_wheel: Path


@pytest.fixture
def project(locked: Fixture) -> Project:
    """test_envs's tiny project locked by real uv, with a Level 2 parser in it."""
    (locked.project.folder / "tiny.py").write_text(PARSER)
    return Project(locked.project.folder, locked.settings, locked.tiny_wheel)


def run_once(settings: Settings, parser: Path, venv: Path, data: Path) -> dict[str, str]:
    out = data.parent / "out"
    session = ParserSession(parser, settings, open_sink(f"parquet://{out}"), venv=venv)
    try:
        session.submit(InputItem(data, data.name))
        [result] = session.results()
    finally:
        session.close()
    assert result.status == RunStatus.COMPLETED, result.error_message
    [row] = pq.read_table(out / "tiny").select(["value", "origin"]).to_pylist()
    return row


async def test_prod_runs_the_registered_artifact_in_its_venv(
    project: Project, tmp_path: Path
) -> None:
    async with CoreService(project.settings, clock=fixed_clock) as service:
        plan = await service.registry.prepare(project.folder)  # a real uv lock passes the check
        registered = await service.registry.register(plan)
        (project.folder / "tiny.py").write_text(PARSER.replace("tinypkg.VALUE", '"edited"'))

        runnable = await service.registry.runnable("tiny", offline=True)
        again = await service.registry.runnable("tiny", "1.0.0", offline=True)

    artifact = project.settings.artifacts_dir / registered.artifact_sha256
    assert runnable == again
    assert (runnable.name, runnable.version) == ("tiny", "1.0.0")
    assert runnable.parser_path == artifact / "tiny.py"
    assert runnable.venv.parent == project.settings.venvs_dir
    assert runnable.artifact_sha256 == registered.artifact_sha256
    data = tmp_path / "input.txt"
    data.write_text("anything\n")
    row = run_once(project.settings, runnable.parser_path, runnable.venv, data)
    assert row == {"value": "tinypkg 0.1.0", "origin": str(artifact / "tiny.py")}


async def test_a_real_uv_lock_made_stale_is_refused(project: Project) -> None:
    pyproject = project.folder / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"tinypkg==0.1.0"', '"tinypkg>=0.2"'))

    async with CoreService(project.settings, clock=fixed_clock) as service:
        with pytest.raises(LockMismatchError, match=r"not locked: tinypkg>=0\.2"):
            await service.registry.prepare(project.folder)


def test_the_cli_registers_offline_and_again_is_a_no_op(project: Project, tmp_path: Path) -> None:
    home = make_home(tmp_path / "cli-home")
    env = {"CASPARIAN_WHEELS_DIR": str(project.settings.wheels_dir)}

    first = casparian(
        "parser", "register", str(project.folder), "--yes", "--offline", home=home, env=env
    )
    second = casparian("parser", "register", str(project.folder), "--offline", home=home, env=env)

    assert first.returncode == 0, first.stderr
    assert "Registered tiny 1.0.0 (sha256 " in first.stdout
    assert "Its environment is ready: " in first.stdout
    assert second.returncode == 0, second.stderr
    assert "registered already with this very content" in second.stdout
    assert "nothing changed" in second.stdout


def test_vendor_takes_a_registered_parsers_name(
    project: Project,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = project.settings.home
    serve_wheels(monkeypatch, tmp_path / "pypi", [project.tiny_wheel, *shim_wheels()])
    monkeypatch.setenv("CASPARIAN_WHEELS_DIR", str(project.settings.wheels_dir))
    register = ["parser", "register", str(project.folder), "--yes", "--offline"]
    assert main(["--home", str(home), *register]) == 0
    shutil.rmtree(project.folder)  # the working copy is gone: the artifact's lock is used
    capsys.readouterr()

    assert main(["--home", str(home), "vendor", "tiny", str(tmp_path / "usb")]) == 0
    assert f"{tmp_path / 'usb'} holds 3 wheels" in capsys.readouterr().out
    assert main(["--home", str(home), "vendor", "nope", str(tmp_path / "usb2")]) == 2
    assert "no parser named 'nope' is registered" in capsys.readouterr().err


def register_on_a_terminal(project: Project, home: Path, answer: str) -> tuple[int, str]:
    """`parser register` with a real terminal (a pty) on stdin and stdout: the approval
    question is asked there and `answer` typed in."""
    controller, terminal = pty.openpty()
    command = ["parser", "register", str(project.folder), "--offline"]
    process = subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", *command],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={
            **os.environ,
            "CASPARIAN_HOME": str(home),
            "CASPARIAN_WHEELS_DIR": str(project.settings.wheels_dir),
        },
    )
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + 60  # an upper bound for a loaded machine, not a timing check
    while b"[y/N] " not in seen:
        assert time.monotonic() < deadline, seen
        if select.select([controller], [], [], 1)[0]:
            seen += os.read(controller, 4096)
    os.write(controller, answer.encode() + b"\n")
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    return process.wait(timeout=120), seen.decode(errors="replace")


def test_the_contracts_are_approved_on_the_terminal(project: Project, tmp_path: Path) -> None:
    home = make_home(tmp_path / "tty-home")

    declined, text = register_on_a_terminal(project, home, "n")
    assert declined == 2
    assert "its contracts were not approved" in text
    assert json.loads(casparian("parser", "list", "--json", home=home).stdout)["parsers"] == []

    approved, text = register_on_a_terminal(project, home, "y")
    assert approved == 0, text
    assert "Approve these contracts and register tiny 1.0.0? [y/N]" in text
    assert "Registered tiny 1.0.0" in text
    [registered] = json.loads(casparian("parser", "list", "--json", home=home).stdout)["parsers"]
    assert (registered["name"], registered["version"]) == ("tiny", "1.0.0")


async def test_an_unpacked_artifact_changed_on_disk_is_unpacked_afresh(
    project: Project, tmp_path: Path
) -> None:
    async with CoreService(project.settings, clock=fixed_clock) as service:
        await service.registry.register(await service.registry.prepare(project.folder))
        runnable = await service.registry.runnable("tiny", offline=True)
        folder = runnable.parser_path.parent
        assert stat.S_IMODE(runnable.parser_path.stat().st_mode) == 0o444
        assert stat.S_IMODE(folder.stat().st_mode) == 0o555

        folder.chmod(0o755)
        runnable.parser_path.chmod(0o644)
        runnable.parser_path.write_text(PARSER.replace("tinypkg.VALUE", '"tampered"'))
        (folder / "json.py").write_text("raise SystemExit('shadowed the stdlib')\n")
        again = await service.registry.runnable("tiny", offline=True)

    assert again == runnable
    assert sorted(p.name for p in folder.iterdir()) == ["pyproject.toml", "tiny.py", "uv.lock"]
    data = tmp_path / "input.txt"
    data.write_text("anything\n")
    row = run_once(project.settings, again.parser_path, again.venv, data)
    assert row["value"] == "tinypkg 0.1.0"
