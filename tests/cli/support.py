"""Running `casparian` as a user does: a real process, a real home."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from casparian_core.config import load_settings
from casparian_core.home import prepare_home


def casparian(
    *args: str,
    home: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casparian_cli", *args],
        env={**os.environ, "CASPARIAN_HOME": str(home), **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def popen_casparian(*args: str, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", *args],
        env={**os.environ, "CASPARIAN_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def one_sentence(result: subprocess.CompletedProcess[str], *needles: str, code: int = 2) -> str:
    """The command failed with `code` and one line on stderr holding every needle."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def make_home(home: Path) -> Path:
    """A prepared home (folders and a migrated database), as a first `scan` leaves it."""
    prepare_home(load_settings(env={}, home=home))
    return home


def write_files(folder: Path, count: int) -> Path:
    for index in range(count):
        sub = folder / f"d{index % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{index}.txt").write_text("x" * (index % 97))
    return folder
