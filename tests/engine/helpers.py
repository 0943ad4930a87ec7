"""Helpers several engine test modules share."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path


def write_inputs(folder: Path, texts: list[str]) -> list[Path]:
    paths = []
    for number, text in enumerate(texts):
        paths.append(folder / f"in{number}.csv")
        paths[-1].write_text(text)
    return paths


def run_with_file_size_limit(
    home: Path, parser: Path, argument: Path, sink: str, limit: int
) -> subprocess.CompletedProcess[str]:
    """`casparian run --json` in a process whose files may not grow past `limit` bytes. The
    host writes the sink, so the limit goes on a host process of its own (not pytest)."""

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = ["run", str(parser), str(argument), "--sink", sink, "--json"]
    return subprocess.run(
        [sys.executable, "-m", "casparian_cli", "--home", str(home), *command],
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
        timeout=120,
    )
