"""The default Parquet output folder: which tables it holds and how many rows each has.

Row counts come from Parquet footers, so counting never reads the data itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

QUARANTINE_SUFFIX = "_quarantine"


@dataclass(frozen=True)
class OutputTable:
    name: str
    path: Path
    parts: int
    rows: int

    @property
    def is_quarantine(self) -> bool:
        return self.name.endswith(QUARANTINE_SUFFIX)


def list_output_tables(output_dir: Path) -> list[OutputTable]:
    """Tables under `output_dir/{table}/*.parquet`, sorted by name. Staging folders (dot names)
    and unreadable parts are left out: a table is what a reader would see."""
    import pyarrow.parquet as pq  # imported here: pyarrow costs ~100 ms and most callers skip it

    if not output_dir.is_dir():
        return []
    tables: list[OutputTable] = []
    for folder in sorted(output_dir.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        parts = rows = 0
        for part in folder.glob("*.parquet"):
            try:
                rows += pq.read_metadata(part).num_rows
            except (OSError, ValueError):
                continue
            parts += 1
        if parts:
            tables.append(OutputTable(folder.name, folder, parts, rows))
    return tables
