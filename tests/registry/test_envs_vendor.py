"""`casparian vendor`: the wheels a lock needs, gathered on a "connected" machine (here pip
reads a local folder instead of PyPI, through its own PIP_* settings), then an offline build
from them on the "air-gapped" one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from casparian_cli import main
from casparian_core.config import Settings
from casparian_core.registry.envs import ensure_venv
from tests.registry.lockfiles import (
    LockedProject,
    locked_project,
    shim_wheels,
    write_index,
    write_wheel,
)
from tests.registry.test_envs import venv_python


@pytest.fixture
def project(tmp_path: Path) -> LockedProject:
    tiny = write_wheel(tmp_path / "built", "tinypkg", "0.1.0")
    write_index(tmp_path / "index", [tiny])
    return locked_project(tmp_path / "tiny-parser", ["tinypkg==0.1.0"], tmp_path / "index")


def serve_wheels(monkeypatch: pytest.MonkeyPatch, folder: Path, wheels: list[Path]) -> None:
    """pip finds its downloads in `folder` (holding `wheels`), and nowhere else."""
    folder.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        (folder / wheel.name).symlink_to(wheel)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # not this machine's pip.conf
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))


def test_vendored_wheels_build_the_parsers_venv_offline(
    project: LockedProject,
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tiny = tmp_path / "built" / "tinypkg-0.1.0-py3-none-any.whl"
    serve_wheels(monkeypatch, tmp_path / "pypi", [tiny, *shim_wheels()])
    vendored = tmp_path / "usb-stick"

    parser_file = project.folder / "tiny_parser.py"  # a parser file names its folder
    parser_file.write_text("def parse(path):\n    return []\n")
    assert main(["--home", str(settings.home), "vendor", str(parser_file), str(vendored)]) == 0

    out, err = capsys.readouterr()
    names = sorted(wheel.name for wheel in vendored.glob("*.whl"))
    assert names == sorted([tiny.name, *(wheel.name for wheel in shim_wheels())])
    assert f"{vendored} holds 3 wheels" in out
    assert "--offline" in out
    assert "tinypkg" in err  # pip's own lines, as progress
    monkeypatch.delenv("PIP_FIND_LINKS")  # the air-gapped machine has only the stick
    offline = settings.model_copy(update={"wheels_dir": vendored})
    venv = ensure_venv(offline, project.lock_text, project.pyproject_text, offline=True)
    assert venv_python(venv, "import tinypkg, pyarrow, zmq; print(tinypkg.VALUE)") == (
        "tinypkg 0.1.0"
    )


def test_vendor_refuses_a_wheel_whose_hash_is_not_the_locks(
    project: LockedProject,
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Same name and version as the locked wheel, other content: what a tampered mirror serves.
    impostor = write_wheel(tmp_path / "mirror", "tinypkg", "0.1.0", body="VALUE = 'evil'\n")
    serve_wheels(monkeypatch, tmp_path / "pypi", [impostor, *shim_wheels()])

    code = main(["--home", str(settings.home), "vendor", str(project.folder), str(tmp_path / "d")])

    assert code == 2
    err = capsys.readouterr().err
    assert "pip could not download every wheel" in err
    assert "HASH" in err.upper()
    assert not (tmp_path / "d" / impostor.name).exists()


def test_vendor_needs_the_parsers_lock(
    project: LockedProject, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    (project.folder / "uv.lock").unlink()

    code = main(["--home", str(settings.home), "vendor", str(project.folder), str(tmp_path / "d")])

    assert code == 2
    err = capsys.readouterr().err
    assert f"{project.folder} has no uv.lock" in err
    assert "uv lock" in err
    assert not (tmp_path / "d").exists()
