"""run_parser end to end: a real guest, real validation, real Parquet/SQLite sinks on tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from casparian_core.config import Settings
from casparian_core.engine import errors
from casparian_core.engine.inputs import hash_file
from casparian_core.engine.results import RunOptions, RunResult, RunStatus
from casparian_core.engine.run import run_parser
from casparian_core.errors import ErrorCode
from casparian_core.sinks import SinkError
from tests.bridge.conftest import WriteParser
from tests.engine.helpers import run_with_file_size_limit

SALES_PARSER = """
    name = "sales"
    version = "1.0.0"
    outputs = {"sales": {
        "id": {"type": "int64", "nullable": False},
        "amount": {"type": "float64", "min": 0},
    }}
    def parse(path):
        import pyarrow.csv as csv
        return csv.read_csv(path)
"""


def run_one(parser: Path, input_path: Path, settings: Settings, **options: object) -> RunResult:
    options.setdefault("sink_uri", f"parquet://{input_path.parent / 'out'}")
    [result] = run_parser(parser, [input_path], settings, RunOptions(**options))  # type: ignore[arg-type]
    return result


def parts(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet")) if folder.exists() else []


@pytest.fixture
def sales_csv(tmp_path: Path) -> Path:
    path = tmp_path / "sales.csv"
    path.write_text("id,amount\n1,2.5\n2,-1\n3,abc\n4,10\n")
    return path


def test_valid_rows_written_bad_rows_quarantined(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run_one(
        write_parser(SALES_PARSER), sales_csv, fast_settings, sink_uri=f"parquet://{out}"
    )

    assert result.status == RunStatus.COMPLETED_WITH_WARNINGS
    [output] = result.outputs
    assert (output.name, output.rows, output.quarantined) == ("sales", 2, 2)
    assert output.reasons == {"amount: min": 1, "amount: type": 1}
    assert output.preview is not None and output.preview.column("id").to_pylist() == [1, 4]
    assert not output.inferred and output.location == str(out / "sales")
    written = pq.read_table(out / "sales")
    assert written.column("id").to_pylist() == [1, 4]
    assert set(written.column("_cf_source_hash").to_pylist()) == {hash_file(sales_csv)}
    assert set(written.column("_cf_job_id").to_pylist()) == {result.job_id}
    quarantined = pq.read_table(out / "sales_quarantine")
    assert sorted(quarantined.column("rule").to_pylist()) == ["min", "type"]
    assert result.input_bytes == sales_csv.stat().st_size


def test_rerun_skips_and_force_replaces_never_duplicates(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    parser, sink = write_parser(SALES_PARSER), f"parquet://{tmp_path / 'out'}"
    run_one(parser, sales_csv, fast_settings, sink_uri=sink)
    again = run_one(parser, sales_csv, fast_settings, sink_uri=sink)
    assert again.status == RunStatus.SKIPPED and again.outputs[0].skipped
    forced = run_one(parser, sales_csv, fast_settings, sink_uri=sink, force=True)
    assert forced.status == RunStatus.COMPLETED_WITH_WARNINGS
    assert len(parts(tmp_path / "out" / "sales")) == 1
    assert pq.read_table(tmp_path / "out" / "sales").num_rows == 2


def test_forced_rerun_without_bad_rows_clears_the_old_quarantine_part(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    sink = f"parquet://{tmp_path / 'out'}"
    run_one(write_parser(SALES_PARSER), sales_csv, fast_settings, sink_uri=sink)
    lenient = SALES_PARSER.replace('{"type": "float64", "min": 0}', '{"type": "string"}')
    result = run_one(write_parser(lenient), sales_csv, fast_settings, sink_uri=sink, force=True)
    assert result.status == RunStatus.COMPLETED
    assert pq.read_table(tmp_path / "out" / "sales_quarantine").num_rows == 0


def test_without_outputs_the_schema_is_inferred_not_enforced(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    parser = write_parser(
        "def parse(path):\n    yield [{'a': 1, 'b': 'x'}]\n    yield [{'a': 2, 'b': None}]\n"
    )
    result = run_one(parser, sales_csv, fast_settings, sink_uri=f"parquet://{tmp_path / 'o'}")
    assert result.status == RunStatus.COMPLETED
    [output] = result.outputs
    assert output.inferred and output.rows == 2 and output.name == parser.stem
    assert output.spec is not None and list(output.spec.columns) == ["a", "b"]


LEVEL_2 = """
    class Two:
        name = "two"
        outputs = {"left": {"x": "int64"}, "right": {"y": "string"}}
        def parse(self, ctx):
            yield "left", [{"x": 1}]
            yield "right", [{"y": ctx.job_id}]
            yield OUTPUT, [{"x": 2}]
"""


def test_level_2_parser_fills_its_declared_outputs(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    parser = write_parser(LEVEL_2.replace("OUTPUT", '"left"'))
    out = tmp_path / "out"
    result = run_one(parser, sales_csv, fast_settings, sink_uri=f"parquet://{out}")
    assert result.status == RunStatus.COMPLETED
    assert {output.name: output.rows for output in result.outputs} == {"left": 2, "right": 1}
    assert pq.read_table(out / "right").column("y").to_pylist() == [result.job_id]


def test_undeclared_output_fails_and_writes_nothing(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    parser = write_parser(LEVEL_2.replace("OUTPUT", '"middle"'))
    out = tmp_path / "out"
    result = run_one(parser, sales_csv, fast_settings, sink_uri=f"parquet://{out}")
    assert (result.status, result.error_code) == (RunStatus.FAILED, ErrorCode.SCHEMA_MISMATCH)
    assert "'middle'" in (result.error_message or "")
    assert parts(out) == []


def test_schema_mismatch_suggests_the_near_miss_column(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    data = tmp_path / "amt.csv"
    data.write_text("id,amt\n1,2.5\n")
    parser = write_parser(SALES_PARSER)
    result = run_one(parser, data, fast_settings, sink_uri=f"parquet://{tmp_path / 'o'}")
    assert (result.status, result.error_code) == (RunStatus.FAILED, ErrorCode.SCHEMA_MISMATCH)
    assert type(result.error_code) is ErrorCode  # decoded at the boundary, never bare text
    assert result.suggestion == "column 'amount' not found; did you mean 'amt'?"
    assert parts(tmp_path / "o") == []


def test_failure_after_some_chunks_leaves_no_partial_output(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    parser = write_parser(
        """
        def parse(path):
            yield [{"n": 1}]
            yield [{"n": 2}]
            raise ValueError("line 3 is garbage")
        """
    )
    out = tmp_path / "out"
    result = run_one(parser, sales_csv, fast_settings, sink_uri=f"parquet://{out}")
    assert (result.status, result.error_code) == (RunStatus.FAILED, ErrorCode.INVALID_DATA)
    assert "line 3 is garbage" in (result.error_message or "")
    assert result.traceback is not None and "raise ValueError" in result.traceback
    assert result.suggestion is not None
    assert parts(out) == []


def test_crash_mid_stream_keeps_the_previous_output(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    sink = f"parquet://{tmp_path / 'out'}"
    first = run_one(write_parser(SALES_PARSER), sales_csv, fast_settings, sink_uri=sink)
    assert first.ok
    before = pq.read_table(tmp_path / "out" / "sales").to_pylist()
    crashing = SALES_PARSER.replace(
        "return csv.read_csv(path)", "yield csv.read_csv(path)\n        import os; os._exit(9)"
    )
    result = run_one(write_parser(crashing), sales_csv, fast_settings, sink_uri=sink, force=True)
    assert (result.status, result.error_code) == (RunStatus.FAILED, ErrorCode.CRASHED)
    assert pq.read_table(tmp_path / "out" / "sales").to_pylist() == before


def test_quarantine_ceiling_fails_the_input(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    strict = SALES_PARSER.replace('"min": 0},', '"min": 0}, "_max_quarantine_pct": 10,')
    out = tmp_path / "out"
    result = run_one(write_parser(strict), sales_csv, fast_settings, sink_uri=f"parquet://{out}")
    assert (result.status, result.error_code) == (RunStatus.FAILED, ErrorCode.QUARANTINE_LIMIT)
    assert "50.0% of its rows" in (result.error_message or "")
    # Nothing was written, so the message is where the user learns why.
    assert (result.error_message or "").endswith("Most often: amount: min (1), amount: type (1)")
    assert parts(out) == []


def test_several_inputs_share_one_guest(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    parser = write_parser("import os\ndef parse(path):\n    return [{'pid': os.getpid()}]\n")
    inputs = []
    for number in range(3):
        inputs.append(tmp_path / f"in{number}.txt")
        inputs[-1].write_text(str(number))
    seen = []
    results = run_parser(
        parser,
        inputs,
        fast_settings,
        RunOptions(sink_uri=f"parquet://{tmp_path / 'out'}"),
        on_result=seen.append,
    )
    assert [result.status for result in results] == [RunStatus.COMPLETED] * 3
    assert seen == results
    pids = pq.read_table(tmp_path / "out" / parser.stem).column("pid").to_pylist()
    assert len(pids) == 3 and len(set(pids)) == 1


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("def parse(path)\n    pass\n", ErrorCode.PARSER_LOAD_ERROR),
        ("x = 1\n", ErrorCode.PARSER_LOAD_ERROR),
        ("outputs = {'t': {'a': 'int65'}}\ndef parse(path):\n    pass\n", ErrorCode.CONTRACT_ERROR),
    ],
)
def test_unusable_parser_fails_every_input_without_a_guest(
    fast_settings: Settings,
    write_parser: WriteParser,
    sales_csv: Path,
    tmp_path: Path,
    source: str,
    code: str,
) -> None:
    parser = write_parser(source)
    options = RunOptions(f"parquet://{tmp_path / 'out'}")
    results = run_parser(parser, [sales_csv, sales_csv], fast_settings, options)
    assert [(r.status, r.error_code) for r in results] == [(RunStatus.FAILED, code)] * 2
    assert str(parser) in (results[0].error_message or "")


def test_missing_and_unreadable_inputs(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    parser = write_parser(SALES_PARSER)
    folder = tmp_path / "a_folder"
    folder.mkdir()
    missing, unreadable = run_parser(
        parser, [tmp_path / "gone.csv", folder], fast_settings, RunOptions(f"parquet://{tmp_path}")
    )
    assert (missing.status, missing.error_code) == (RunStatus.FAILED, ErrorCode.FILE_NOT_FOUND)
    assert "gone.csv: cannot read the input" in (missing.error_message or "")
    assert (unreadable.status, unreadable.error_code) == (RunStatus.FAILED, ErrorCode.INPUT_ERROR)


def test_binary_input_to_a_csv_parser(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    binary = tmp_path / "image.csv"
    binary.write_bytes(bytes(range(256)) * 64)
    result = run_one(write_parser(SALES_PARSER), binary, fast_settings)
    assert result.status == RunStatus.FAILED
    assert result.error_code in (ErrorCode.INVALID_DATA, ErrorCode.SCHEMA_MISMATCH)


def test_wrong_encoding_is_an_encoding_error(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    latin = tmp_path / "names.txt"
    latin.write_bytes("José;Zoë\n".encode("latin-1"))
    parser = write_parser(
        "def parse(path):\n    return [{'line': l} for l in open(path, encoding='utf-8')]\n"
    )
    result = run_one(parser, latin, fast_settings)
    assert (result.status, result.error_code) == (RunStatus.FAILED, ErrorCode.ENCODING_ERROR)
    assert "encoding" in (result.suggestion or "")


def test_unwritable_sink_fails_cleanly(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("a regular file where a folder should be")
    result = run_one(
        write_parser(SALES_PARSER), sales_csv, fast_settings, sink_uri=f"parquet://{blocker}/sub"
    )
    assert (result.status, result.error_code) == (RunStatus.FAILED, ErrorCode.SINK_ERROR)
    assert str(blocker) in (result.error_message or "")


def test_bad_sink_uri_and_bad_venv_are_user_errors(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    parser = write_parser(SALES_PARSER)
    with pytest.raises(SinkError, match="unknown scheme"):
        run_parser(parser, [sales_csv], fast_settings, RunOptions(sink_uri="ftp://x"))
    with pytest.raises(errors.VenvError, match="not a virtual environment"):
        run_parser(
            parser, [sales_csv], fast_settings, RunOptions(f"parquet://{tmp_path}", venv=tmp_path)
        )


def test_venv_runs_the_guest_with_that_python(
    fast_settings: Settings, write_parser: WriteParser, sales_csv: Path, tmp_path: Path
) -> None:
    # A venv of its own whose site-packages links to ours for pyarrow and pyzmq (a .pth file):
    # the guest shim runs there although casparian is not installed in it.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = venv / "lib" / version / "site-packages"
    (site_packages / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    parser = write_parser(
        "import importlib.util, os, sys\ndef parse(path):\n"
        "    return [{'exe': sys.executable, 'venv': os.environ.get('VIRTUAL_ENV'),\n"
        "             'casparian': importlib.util.find_spec('casparian_core') is not None}]\n"
    )
    result = run_one(
        parser, sales_csv, fast_settings, venv=venv, sink_uri=f"parquet://{tmp_path / 'o'}"
    )
    assert result.status == RunStatus.COMPLETED
    [row] = (
        pq.read_table(tmp_path / "o" / parser.stem).select(["exe", "venv", "casparian"]).to_pylist()
    )
    assert row == {"exe": str(venv / "bin" / "python"), "venv": str(venv), "casparian": False}


def test_disk_full_in_the_host_writes_fails_without_partial_output(
    write_parser: WriteParser, home: Path, tmp_path: Path
) -> None:
    parser = write_parser(
        """
        import os
        import pyarrow as pa
        def parse(path):  # random text: compression cannot keep it under the limit
            for chunk in range(20):
                yield pa.table({"text": [os.urandom(100).hex() for n in range(5000)]})
        """
    )
    data = tmp_path / "input.txt"
    data.write_text("anything")
    out = tmp_path / "out"

    completed = run_with_file_size_limit(home, parser, data, f"parquet://{out}", 256 * 1024)
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    assert (document["status"], document["error_code"]) == (RunStatus.FAILED, ErrorCode.SINK_ERROR)
    assert parts(out) == []
