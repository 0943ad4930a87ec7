"""Time from `casparian tui` to an interactive Home Hub with its numbers, in a real pseudo-terminal.

Baselines measured in the same run: a bare Python start, and Python importing Textual.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from casparian_core.config import load_settings
from casparian_core.home import prepare_home

RUNS = 5
READY_MARKER = b"sources"  # the Discover card's numbers: the screen is painted with live stats


def time_command(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - start


def time_tui_start(home: Path) -> float:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    env = {**os.environ, "CASPARIAN_HOME": str(home), "TERM": "xterm-256color"}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", "tui"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    try:
        while READY_MARKER not in seen:
            ready, _, _ = select.select([master], [], [], 10)
            if not ready:
                raise RuntimeError("the TUI did not paint its Home Hub within 10 s")
            seen += os.read(master, 65536)
        return time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.close(master)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        prepare_home(load_settings(env={}, home=home))  # `status` no longer creates a home
        bare = [time_command([sys.executable, "-c", "pass"]) for _ in range(RUNS)]
        textual = [time_command([sys.executable, "-c", "import textual.app"]) for _ in range(RUNS)]
        tui = [time_tui_start(home) for _ in range(RUNS)]
    print(f"python start (median of {RUNS}):          {statistics.median(bare) * 1000:7.0f} ms")
    print(f"python + import textual.app:          {statistics.median(textual) * 1000:7.0f} ms")
    print(f"casparian tui to Home Hub with stats: {statistics.median(tui) * 1000:7.0f} ms")
    print(f"  (best {min(tui) * 1000:.0f} ms, worst {max(tui) * 1000:.0f} ms; target < 1000 ms)")


if __name__ == "__main__":
    main()
