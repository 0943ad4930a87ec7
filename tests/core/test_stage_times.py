"""stage_times: each process asked appends one line, its stages and its own CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from casparian_core import stage_times

TIMED = """\
from casparian_core import stage_times

with stage_times.stage("busy"):
    sum(range(2_000_000))
stage_times.add("given", 0.5)
"""


def run_timed(env: dict[str, str]) -> None:
    environment = {"PATH": os.environ["PATH"], **env}
    subprocess.run([sys.executable, "-c", TIMED], env=environment, check=True)


def test_a_process_appends_its_stages_and_its_own_cpu(tmp_path: Path) -> None:
    target = tmp_path / "stages.jsonl"
    run_timed({stage_times.VARIABLE: str(target)})
    run_timed({stage_times.VARIABLE: str(target)})

    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(lines) == 2 and lines[0]["pid"] != lines[1]["pid"]
    stages = lines[0]["stages"]
    assert stages["given"] == [1, 0.5]
    assert stages["busy"][0] == 1 and stages["busy"][1] > 0
    count, cpu = stages[stage_times.PROCESS_CPU]
    assert count == 1 and cpu > 0  # added once, when the process exits
