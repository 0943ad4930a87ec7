"""A wall-clock limit per input, and a guest that cannot start reported as a setup problem.

Real guests: a parser that sleeps or blocks in a read times out as TIMEOUT and the next input
gets a new guest; a guest without pyarrow, or with limits too low to start, is
GUEST_START_FAILED (permanent) with its own last line of stderr; limits below what a guest needs
are refused when the settings load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from casparian_core.bridge.host import GuestProcess
from casparian_core.bridge.protocol import ExitClass, Job
from casparian_core.config import GUEST_MINIMUMS, Settings, load_settings
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.engine.run import run_parser
from casparian_core.errors import ConfigError, ErrorCode
from casparian_core.parsers.metadata import ParserLoadError, read_parser_info

from .conftest import WriteParser, run

# Blocks (asleep, or in a read from a FIFO nobody writes) on an input whose first line is
# "block"; parses the others.
BLOCKING_PARSER = """
{limit}
import time
def parse(path):
    first = open(path).readline().strip()
    if first == "block":
        time.sleep(3600)
    if first.startswith("fifo "):
        open(first[5:]).read()
    return [{{"line": first}}]
"""


def write_inputs(folder: Path, *firsts: str) -> list[Path]:
    paths = []
    for index, first in enumerate(firsts):
        path = folder / f"in_{index}.txt"
        path.write_text(first + "\n")
        paths.append(path)
    return paths


@pytest.mark.parametrize("blocked_in", ["sleep", "read"])
def test_a_blocked_parser_times_out_and_the_next_input_completes(
    settings: Settings, write_parser: WriteParser, tmp_path: Path, blocked_in: str
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    blocker = "block" if blocked_in == "sleep" else f"fifo {fifo}"
    parser = write_parser(BLOCKING_PARSER.format(limit=""))
    # Long enough for the next input's parse on a machine at load 15 (the clock runs from
    # when its job is sent), short enough to keep the test quick.
    limited = settings.model_copy(update={"guest_job_timeout_secs": 3.0})
    inputs = write_inputs(tmp_path, blocker, "fine")
    timed_out, completed = run_parser(
        parser, inputs, limited, RunOptions(f"parquet://{tmp_path / 'out'}")
    )
    assert timed_out.status == RunStatus.FAILED
    assert timed_out.error_code == ErrorCode.TIMEOUT
    assert not timed_out.transient  # it would block again
    assert "more than 3 s" in (timed_out.error_message or "")
    assert "guest_job_timeout_secs" in (timed_out.error_message or "")
    assert completed.status == RunStatus.COMPLETED
    assert completed.outputs[0].rows == 1


def test_a_parser_s_own_timeout_wins_over_the_setting(
    settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    parser = write_parser(BLOCKING_PARSER.format(limit="timeout_secs = 1"))
    assert read_parser_info(parser).timeout_secs == 1
    [result] = run_parser(
        parser, write_inputs(tmp_path, "block"), settings, RunOptions(f"parquet://{tmp_path}")
    )
    assert result.error_code == ErrorCode.TIMEOUT
    assert "`timeout_secs` in the parser" in (result.error_message or "")


@pytest.mark.parametrize("value", ["0", "1.5", "'30'", "True"])
def test_a_timeout_literal_must_be_whole_positive_seconds(
    write_parser: WriteParser, value: str
) -> None:
    parser = write_parser(f"timeout_secs = {value}\ndef parse(path):\n    return []\n")
    with pytest.raises(ParserLoadError, match="timeout_secs"):
        read_parser_info(parser)


def test_the_job_timeout_setting_comes_from_the_file_and_the_environment(home: Path) -> None:
    assert load_settings(env={}, home=home).guest_job_timeout_secs == 3600
    (home / "config.toml").write_text("guest_job_timeout_secs = 60\n")
    assert load_settings(env={}, home=home).guest_job_timeout_secs == 60
    env = {"CASPARIAN_GUEST_JOB_TIMEOUT_SECS": "5"}
    assert load_settings(env=env, home=home).guest_job_timeout_secs == 5


@pytest.mark.parametrize(
    ("name", "low"), [("guest_max_memory_mb", 300), ("guest_max_open_files", 16)]
)
def test_limits_too_low_for_a_guest_are_refused_with_the_minimum(
    home: Path, name: str, low: int
) -> None:
    minimum = GUEST_MINIMUMS[name]
    with pytest.raises(ConfigError) as refused:
        load_settings(env={f"CASPARIAN_{name.upper()}": str(low)}, home=home)
    assert name in str(refused.value) and f"below {minimum}" in str(refused.value)
    assert getattr(load_settings(env={f"CASPARIAN_{name.upper()}": str(minimum)}, home=home), name)


def test_the_minimum_limits_are_enough_to_parse(
    settings: Settings, write_parser: WriteParser
) -> None:
    lowest = settings.model_copy(update=GUEST_MINIMUMS)
    with GuestProcess(lowest) as guest:
        outcome, collected = run(guest, write_parser("def parse(path):\n    return [{'a': 1}]\n"))
    assert outcome.ok, outcome
    assert collected.rows("out") == [{"a": 1}]


def test_a_venv_without_pyarrow_is_a_setup_failure_not_a_crash(
    settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    with GuestProcess(settings, venv=venv) as guest:
        outcome, _ = run(guest, write_parser("def parse(path):\n    return []\n"))
    assert outcome.error_code == ErrorCode.GUEST_START_FAILED
    assert outcome.exit_code == ExitClass.PERMANENT
    message = outcome.message or ""
    assert "No module named 'pyarrow'" in message  # its stderr's last line
    assert str(venv / "bin" / "python") in message and "pyzmq" in message


def test_a_guest_that_cannot_start_under_its_limits_is_a_setup_failure(
    settings: Settings, write_parser: WriteParser
) -> None:
    # model_copy skips validation: limits that load_settings refuses, as an old config had them.
    starved = settings.model_copy(update={"guest_max_memory_mb": 100})
    with GuestProcess(starved) as guest:
        job = Job(
            uuid.uuid4().hex,
            str(write_parser("def parse(path):\n    return []\n")),
            os.devnull,
            "out",
            None,
        )
        outcome = guest.run_job(job, lambda output, table: None)
    assert outcome.error_code == ErrorCode.GUEST_START_FAILED
    assert outcome.exit_code == ExitClass.PERMANENT
    assert "guest_max_memory_mb" in (outcome.message or "")
