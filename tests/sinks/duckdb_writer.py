"""A process writing one part to a DuckDB sink, for tests/sinks/test_duckdb_turns.py.

`python -m tests.sinks.duckdb_writer FILE KEY [--hold]`: stages KEY's rows, prints "staged";
with --hold, waits for a line on stdin before it commits. Prints "committed" at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa

from casparian_core.sinks import PartInfo, open_sink


def main() -> None:
    path, key = Path(sys.argv[1]), sys.argv[2]
    sink = open_sink(f"duckdb:///{path}")
    table = pa.table({"n": list(range(100)), "key": [key] * 100})
    part = sink.begin("rows", key, table.schema, PartInfo(key, "hash", "1"))
    part.write(table)
    print("staged", flush=True)
    if "--hold" in sys.argv:
        sys.stdin.readline()
    sink.commit_together([part]).result()
    sink.close()
    print("committed", flush=True)


if __name__ == "__main__":
    main()
