"""The benchmarks' stage times: a process's start-up marks are recorded once, in its line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from casparian_core import stage_times


def test_a_start_up_mark_is_recorded_once_per_process(tmp_path: Path) -> None:
    target = tmp_path / "stages.jsonl"
    code = (
        "from casparian_core import stage_times as s;"
        "s.since_start('first job');s.since_start('first job');s.add('hash', 0.5)\n"
        "with s.stage('validation'): pass"
    )
    env = {**os.environ, stage_times.VARIABLE: str(target)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    (line,) = target.read_text().splitlines()
    stages = json.loads(line)["stages"]
    assert stages["hash"] == [1, 0.5]
    assert stages["validation"][0] == 1  # a timed block
    count, seconds = stages[stage_times.STARTUP_PREFIX + "first job"]
    assert count == 1 and seconds > 0


def test_without_the_variable_nothing_is_recorded(tmp_path: Path) -> None:
    code = (
        "from casparian_core import stage_times as s;s.since_start('x')\n"
        "with s.stage('y'): pass\n"
        "print(s._totals)"
    )
    env = {k: v for k, v in os.environ.items() if k != stage_times.VARIABLE}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "{}"


def test_each_process_appends_its_own_line_with_its_cpu(tmp_path: Path) -> None:
    target = tmp_path / "stages.jsonl"
    code = "from casparian_core import stage_times as s;sum(range(2_000_000));s.add('given', 0.5)"
    env = {**os.environ, stage_times.VARIABLE: str(target)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(lines) == 2 and lines[0]["pid"] != lines[1]["pid"]
    assert lines[0]["stages"]["given"] == [1, 0.5]
    count, cpu = lines[0]["stages"][stage_times.PROCESS_CPU]
    assert count == 1 and cpu > 0  # added once, when the process exits
