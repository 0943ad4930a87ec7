"""Prod runs the registered artifact in its managed venv, never the working copy: a parser
project locked by real uv (offline, against a local index) is registered, materialized with
`runnable` and run through a ParserSession."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from casparian_core.config import Settings
from casparian_core.engine.results import InputItem, RunStatus
from casparian_core.engine.session import ParserSession
from casparian_core.registry.errors import LockMismatchError
from casparian_core.service import CoreService
from casparian_core.sinks import open_sink
from tests.cli.support import casparian, make_home
from tests.conftest import fixed_clock
from tests.registry.lockfiles import (
    link_wheels,
    locked_project,
    shim_wheels,
    write_index,
    write_wheel,
)

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


@pytest.fixture
def project(tmp_path: Path, settings: Settings) -> Project:
    tiny = write_wheel(tmp_path / "built", "tinypkg", "0.1.0")
    write_index(tmp_path / "index", [tiny])
    locked = locked_project(tmp_path / "tiny-parser", ["tinypkg==0.1.0"], tmp_path / "index")
    (locked.folder / "tiny.py").write_text(PARSER)
    wheels = link_wheels(tmp_path / "wheels", [tiny, *shim_wheels()])
    return Project(locked.folder, settings.model_copy(update={"wheels_dir": wheels}))


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
