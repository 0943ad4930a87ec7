"""What the host loads to write rows: not pandas, which pyarrow imports on its first conversion
of a Python value (~0.15 s of CPU in each worker, every `process` and `run`)."""

from __future__ import annotations

from pathlib import Path

from tests.engine.test_cli_run import casparian, finish

TYPED_PARSER = """\
import pyarrow.csv as csv


class Rows:
    name = "rows"
    version = "1.0.0"
    outputs = {"rows": {"id": {"type": "int64", "nullable": False}, "value": "int64"}}

    def parse(self, ctx):
        yield "rows", csv.read_csv(str(ctx.path))
"""


def test_rows_arriving_in_their_contract_types_are_written_without_pandas(
    home: Path, tmp_path: Path
) -> None:
    parser = tmp_path / "rows.py"
    parser.write_text(TYPED_PARSER)
    data = tmp_path / "in.csv"
    data.write_text("id,value\n1,7\n2,14\n")
    out = tmp_path / "out"
    # Python lists every module the `run` process imports on stderr (the guest's environment
    # does not carry the variable): lineage, validation and the sink all ran in it.
    code, stdout, stderr = finish(
        casparian(
            home,
            str(parser),
            str(data),
            "--sink",
            f"parquet://{out}",
            "--json",
            env={"PYTHONPROFILEIMPORTTIME": "1"},
        )
    )
    assert code == 0, stderr
    assert '"rows": 2' in stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if "|" in line}
    assert "casparian_core.contracts.validate" in imported
    assert "casparian_core.contracts.lineage" in imported
    assert not {name for name in imported if name.split(".")[0] == "pandas"}
