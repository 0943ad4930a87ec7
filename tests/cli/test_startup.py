"""The CLI's start-up path stays light: `casparian run` launches its guest only after the CLI is
imported, so every module imported before that delays the whole run."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_cli_loads_no_service_pyarrow_or_pandas() -> None:
    probe = (
        "import sys, casparian_cli;"
        "print(' '.join(name for name in sys.argv[1:] if name in sys.modules))"
    )
    names = ["pyarrow", "pandas", "mcp", "casparian_core.service", "casparian_core.scout.scanner"]
    completed = subprocess.run(
        [sys.executable, "-c", probe, *names], capture_output=True, text=True, check=True
    )
    assert completed.stdout.split() == []


def test_starting_the_service_loads_no_scanner() -> None:
    """The TUI starts the service before its first paint; the scanner loads with the first scan."""
    probe = (
        "import sys, casparian_core.service;print('casparian_core.scout.scanner' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"


def test_starting_the_service_loads_no_pyarrow() -> None:
    """`casparian process` opens the service, plans and claims before it launches its guest:
    pyarrow (~0.1 s) loads after, while the guest starts and parses."""
    probe = "import sys, casparian_core.service;print('pyarrow' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"
