"""Running uv and pip for managed environments.

uv is a declared dependency of Casparian Flow, found through its Python package, never on PATH
and never downloaded at run time. Both tools get an environment without the host's secrets
(they need none: their own settings, proxies and certificates pass), and each line they print
is passed on as progress, so a terminal shows a long build moving.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from casparian_core.registry.env_errors import VenvBuildError

Progress = Callable[[str], object]

# Variables a package installer may need; nothing else of the host's environment passes.
TOOL_ENV_NAMES = (
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "XDG_CACHE_HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
)
# The tools' own configuration (an index, a cache folder) is the user's to set.
TOOL_ENV_PREFIXES = ("UV_", "PIP_")
TAIL_LINES = 12  # of a failed tool's output, kept for the error message


class ToolFailed(Exception):
    """A tool exited with an error; `tail` is the end of what it printed."""

    def __init__(self, command: str, tail: str) -> None:
        super().__init__(f"{command} failed: {tail}")
        self.tail = tail


def uv_binary() -> Path:
    """The uv executable installed with Casparian Flow."""
    from uv import find_uv_bin

    try:
        return Path(find_uv_bin())
    except FileNotFoundError:
        raise VenvBuildError(
            "uv is missing from Casparian's installation: reinstall it "
            "(`pip install --force-reinstall casparian-flow`)"
        ) from None


def pip_command() -> list[str]:
    """pip of the interpreter running Casparian (downloads wheels for this Python)."""
    return [sys.executable, "-m", "pip"]


def tool_environment(source: Mapping[str, str] | None = None) -> dict[str, str]:
    source = os.environ if source is None else source
    return {
        name: value
        for name, value in source.items()
        if name in TOOL_ENV_NAMES or name.startswith(TOOL_ENV_PREFIXES)
    }


def run_tool(
    command: Sequence[str | Path],
    progress: Progress | None,
    *,
    cwd: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> None:
    """Run `command` to its end, each output line passed to `progress`. Raises ToolFailed
    with the end of its output when it exits with an error; stops it when we are interrupted."""
    args = [str(part) for part in command]
    env = {**tool_environment(), **(extra_env or {})}
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    process = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip()
            if line:
                tail.append(line)
                if progress is not None:
                    progress(line)
        code = process.wait()
    finally:
        if process.poll() is None:  # interrupted: leave no installer running
            process.kill()
            process.wait()
    if code != 0:
        raise ToolFailed(Path(args[0]).name, "\n".join(tail) or f"exit status {code}")
