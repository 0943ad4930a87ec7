"""`casparian run` on a folder: a value no cast can hold is quarantined, and a fault inside
validation fails only its own input; every input gets its line and the summary prints."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from casparian_cli import main
from casparian_core.contracts import validate
from casparian_core.contracts.casting import Conversion
from casparian_core.errors import ErrorCode

PARSER = """
import pyarrow as pa

outputs = {"nums": {"n": "int64"}}


def parse(path):
    text = open(path).read().strip()
    if text == "big":
        return pa.table({"n": pa.array([1, 2**63], pa.uint64())})
    return pa.table({"n": [float(text), 2.0]})
"""
FAULT = 666.0  # the value that makes the patched validation fail


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inputs = tmp_path / "in"
    inputs.mkdir()
    contents = {"a.txt": "1.5", "b.txt": "big", "c.txt": "3", "d.txt": str(FAULT), "e.txt": "4"}
    for name, text in contents.items():
        (inputs / name).write_text(text)
    return inputs


@pytest.fixture
def faulty_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation raising a raw Arrow error on one input, as an unforeseen cast would."""
    convert = validate.convert_column

    def convert_or_fail(values: pa.ChunkedArray, spec: object) -> Conversion:
        if pa.types.is_floating(values.type) and pc.any(pc.equal(values, FAULT)).as_py():
            raise pa.ArrowInvalid("an error no rule foresaw")
        return convert(values, spec)  # type: ignore[arg-type]

    monkeypatch.setattr(validate, "convert_column", convert_or_fail)


def run(home: Path, tmp_path: Path, folder: Path, *args: str) -> int:
    parser = tmp_path / "nums.py"
    parser.write_text(PARSER)
    sink = f"parquet://{tmp_path / 'out'}"
    return main(["--home", str(home), "run", str(parser), str(folder), "--sink", sink, *args])


@pytest.mark.usefixtures("faulty_validation")
def test_every_input_gets_its_result_and_the_summary_prints(
    home: Path, tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(home, tmp_path, folder, "--json")

    document = json.loads(capsys.readouterr().out)
    statuses = {Path(row["path"]).name: row for row in document["inputs"]}
    assert [statuses[name]["status"] for name in sorted(statuses)] == [
        "COMPLETED_WITH_WARNINGS",  # 1.5 is no int64: quarantined
        "COMPLETED_WITH_WARNINGS",  # nor is 2**63
        "COMPLETED",
        "FAILED",
        "COMPLETED",
    ]
    assert statuses["d.txt"]["error_code"] == ErrorCode.VALIDATION_ERROR
    assert "an error no rule foresaw" in statuses["d.txt"]["error_message"]
    assert code == 1
    [output] = document["outputs"]
    assert (output["rows"], output["quarantined"]) == (1 + 1 + 2 + 2, 2)
    written = pq.read_table(tmp_path / "out" / "nums").column("n").to_pylist()
    assert sorted(written) == [1, 2, 2, 2, 3, 4]  # nothing of d.txt


@pytest.mark.usefixtures("faulty_validation")
def test_the_text_summary_names_the_failed_input_and_verbose_reports_each(
    home: Path, tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(home, tmp_path, folder)

    summary = capsys.readouterr().out
    assert "on 5 inputs" in summary and "1 failed" in summary
    assert str(folder / "d.txt") in summary and ErrorCode.VALIDATION_ERROR in summary

    run(home, tmp_path, folder, "--verbose", "--force")

    out = capsys.readouterr().out
    for name in ("a.txt", "b.txt", "c.txt", "d.txt", "e.txt"):
        assert f"on {folder / name}:" in out
    assert f"FAILED ({ErrorCode.VALIDATION_ERROR})" in out
    assert "on 5 inputs" in out
