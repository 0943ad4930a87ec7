import json
import os
import subprocess
import sys
from pathlib import Path

from tests.registry.lockfiles import SHIM_WHEELS


def run_demo(home: Path, examples: Path, parsers: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "casparian_core.demo",
            "--examples",
            str(examples),
            "--parsers",
            str(parsers),
        ],
        env={**os.environ, "CASPARIAN_HOME": str(home), "CASPARIAN_WHEELS_DIR": str(SHIM_WHEELS)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_home_links_parsers_and_copies_samples_idempotently(tmp_path: Path) -> None:
    examples, parsers, home = tmp_path / "examples", tmp_path / "parsers", tmp_path / "home"
    (examples / "sales").mkdir(parents=True)
    (examples / "sales" / "a.csv").write_text("id,amount\n1,2\n")
    parsers.mkdir()
    (parsers / "sales_csv.py").write_text("def parse(path):\n    return []\n")

    for _ in range(2):  # the second run must neither fail nor duplicate anything
        result = run_demo(home, examples, parsers)
        assert result.returncode == 0, result.stderr

    linked = home / "parsers" / "sales_csv.py"
    assert linked.is_symlink() and linked.resolve() == (parsers / "sales_csv.py").resolve()
    assert (home / "demo-data" / "sales" / "a.csv").read_text() == "id,amount\n1,2\n"
    assert sorted(p.name for p in (home / "parsers").iterdir()) == ["sales_csv.py"]
    # Not a registrable parser (no contracts, no uv.lock): said, and the demo goes on.
    assert "sales_csv.py: not registered:" in result.stdout
    status = subprocess.run(
        [sys.executable, "-m", "casparian_cli", "--home", str(home), "status", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = json.loads(status.stdout)
    assert (stats["files"], stats["sources"], stats["tags"]) == (1, 1, 1)  # a.csv, tagged sales


REPO = Path(__file__).resolve().parents[2]


def test_the_demo_registers_and_processes_the_samples_once_so_home_opens_with_jobs(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    first = run_demo(home, REPO / "examples", REPO / "parsers")
    assert first.returncode == 0, first.stderr
    status = subprocess.run(
        [sys.executable, "-m", "casparian_cli", "--home", str(home), "status", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = json.loads(status.stdout)
    assert stats["tables"] == 4  # one per example parser, plus their quarantine outputs
    assert stats["rows"] > 0 and stats["quarantined_rows"] > 0
    assert (home / "output" / "sales_quarantine").is_dir()
    assert stats["parsers"] == 4 and stats["jobs"] == {"COMPLETED_WITH_WARNINGS": 8}

    again = run_demo(home, REPO / "examples", REPO / "parsers")
    assert again.returncode == 0, again.stderr
    assert "8 files already processed" in again.stdout
    restats = subprocess.run(
        [sys.executable, "-m", "casparian_cli", "--home", str(home), "status", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(restats.stdout)["rows"] == stats["rows"]  # nothing added twice
