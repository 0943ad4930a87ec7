"""What the host loads to write rows: not pandas, which pyarrow imports on its first conversion
of a Python value (~0.15 s of CPU). `process` and `run` as programs hide it outright
(jobs/unused_libraries.py); a process that shares its interpreter (the TUI, the daemon's
callers, a test) cannot, so the host's own code converts no Python value on the common path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TYPED_PARSER = """\
import pyarrow.csv as csv


class Rows:
    name = "rows"
    version = "1.0.0"
    outputs = {"rows": {"id": {"type": "int64", "nullable": False}, "value": "int64"}}

    def parse(self, ctx):
        yield "rows", csv.read_csv(str(ctx.path))
"""
# `main` given its arguments: the caller shares the process, so nothing is hidden from it.
PROBE = """\
import json, sys
from casparian_cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "pandas": "pandas" in sys.modules}))
"""


def test_rows_arriving_in_their_contract_types_are_written_without_pandas(
    home: Path, tmp_path: Path
) -> None:
    parser = tmp_path / "rows.py"
    parser.write_text(TYPED_PARSER)
    data = tmp_path / "in.csv"
    data.write_text("id,value\n1,7\n2,14\n")
    argv = ["--home", str(home), "run", str(parser), str(data), "--json"]
    argv += ["--sink", f"parquet://{tmp_path / 'out'}"]
    env = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], env=env, capture_output=True, text=True, timeout=120
    )
    run_output, probe = done.stdout.strip().rsplit("\n", 1)
    assert json.loads(run_output)["outputs"][0]["rows"] == 2, done.stderr
    assert json.loads(probe) == {"code": 0, "pandas": False}
