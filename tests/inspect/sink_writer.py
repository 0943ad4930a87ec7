"""A writer process for Inspect's concurrency tests: opens a sink and keeps it open, committing
one part of ROWS rows each time a line arrives on stdin, and says `committed N` after each.

Run: python -m tests.inspect.sink_writer URI ROWS
"""

from __future__ import annotations

import sys

from casparian_core.sinks import PartInfo, open_sink
from tests.inspect.sinks_support import sales

JOB = "d4" * 16


def main(uri: str, rows: int) -> None:
    sink = open_sink(uri)
    try:
        for number, _ in enumerate(sys.stdin):
            table = sales(rows, JOB, start=number * rows)
            key = f"in-{number}.csv"
            part = sink.begin("sales", key, table.schema, PartInfo(key, "5e" * 32, "2.0.0"))
            part.write(table)
            sink.commit_together([part]).result()
            print(f"committed {number + 1}", flush=True)
    finally:
        sink.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
