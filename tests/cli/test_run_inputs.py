"""What `casparian run` accepts as input: never a pipe or a device, names that are not UTF-8,
and Ctrl+C while it hashes a large input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.cli.support import casparian, make_home, one_sentence

WAIT_SECS = 60  # a bound for a slow, shared machine; never a timing assertion

CSV_PARSER = """
import pyarrow.csv as pacsv

def parse(path):
    return pacsv.read_csv(path)
"""

CONTRACT_PARSER = """
import pyarrow.csv as pacsv

class Amounts:
    name = "amounts"
    version = "1"
    outputs = {"amounts": {"a": {"type": "int64", "min": 5}, "b": "int64"}}

    def parse(self, ctx):
        yield "amounts", pacsv.read_csv(ctx.path)
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return casparian("run", *args, home=tmp_path / "no-home", cwd=tmp_path, timeout=WAIT_SECS)


def test_a_named_fifo_is_refused_rather_than_blocking(tmp_path: Path) -> None:
    parser = write(tmp_path / "p.py", CSV_PARSER)
    os.mkfifo(tmp_path / "pipe")
    one_sentence(run(tmp_path, str(parser), str(tmp_path / "pipe")), "not a regular file")


def test_a_device_is_refused_rather_than_hashed_forever(tmp_path: Path) -> None:
    parser = write(tmp_path / "p.py", CSV_PARSER)
    one_sentence(run(tmp_path, str(parser), "/dev/zero"), "/dev/zero: not a regular file")


def test_a_folder_without_files_is_an_error(tmp_path: Path) -> None:
    parser = write(tmp_path / "p.py", CSV_PARSER)
    (tmp_path / "empty" / ".hidden").mkdir(parents=True)
    (tmp_path / "empty" / ".hidden" / "x.csv").write_text("a\n1\n")
    result = run(tmp_path, str(parser), str(tmp_path / "empty"))
    one_sentence(result, "holds no files to run on")
    assert result.stdout == ""


def _maps_file(pid: int, path: Path) -> bool:
    try:
        return str(path) in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
def test_ctrl_c_while_hashing_a_huge_input_ends_the_run(tmp_path: Path) -> None:
    parser = write(tmp_path / "p.py", CSV_PARSER)
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(1 << 40)  # 1 TiB of holes: minutes to hash, nothing on disk
    process = subprocess.Popen(
        [sys.executable, "-m", "casparian_cli", "run", str(parser), str(huge)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + WAIT_SECS
        while not _maps_file(process.pid, huge):  # the input is mapped: hashing has begun
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=WAIT_SECS)  # the whole hash takes minutes
    finally:
        process.kill()  # a run that missed the signal must not hash on beside other tests
        process.wait()
    assert process.returncode == 130, stderr
    assert not (tmp_path / "output").exists() or not any((tmp_path / "output").rglob("*.parquet"))


def test_an_input_whose_name_is_not_utf8_is_parsed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    bad_name = os.fsencode(data) + b"/caf\xe9.csv"
    with open(bad_name, "wb") as handle:
        handle.write(b"a,b\n1,2\n7,8\n")
    plain = run(tmp_path, str(write(tmp_path / "p.py", CSV_PARSER)), str(data), "--json")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert json.loads(plain.stdout)["outputs"][0]["rows"] == 2

    checked = run(tmp_path, str(write(tmp_path / "amounts.py", CONTRACT_PARSER)), str(data))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    import pyarrow.parquet as pq

    [part] = (tmp_path / "output" / "amounts_quarantine").glob("*.parquet")
    assert pq.read_table(part).column("source_path").to_pylist() == [str(data / "caf\\xe9.csv")]


def test_parsers_sharing_a_name_are_refused_and_status_says_so(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    level2 = textwrap.dedent(
        """
        class P:
            name = "sales"
            version = "1"

            def parse(self, ctx):
                yield "sales", []
        """
    )
    (home / "parsers" / "sales_a.py").write_text(level2)
    (home / "parsers" / "sales_b.py").write_text(level2)
    (home / "parsers" / "other.py").write_text("def parse(path):\n    return []\n")
    result = casparian("status", home=home)
    assert result.returncode == 0, result.stderr
    assert "3 parsers" in result.stdout
    assert (
        f"unusable: {home}/parsers/sales_a.py: sales_b.py in the same folder also has the name "
        "'sales', so none of them is used" in result.stdout
    )
    document = json.loads(casparian("status", "--json", home=home).stdout)
    assert sorted(Path(p["path"]).name for p in document["unusable_parsers"]) == [
        "sales_a.py",
        "sales_b.py",
    ]
