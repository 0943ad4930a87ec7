"""What an output folder of a Parquet sink holds, part by part, whether each part has a file of
its own (`part-{key}.parquet`) or is in a bundle (casparian_core/sinks/parquet_bundle.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from casparian_core.sinks.bundle_index import LOG_SUFFIX
from casparian_core.sinks.file_sink import BUNDLE_LOCK
from casparian_core.sinks.parquet_bundle import is_bundle, read_index


def staging_leftovers(root: Path) -> list[Path]:
    """What a folder sink's staging folder holds but the bundle logs and their lock, which live
    there for good: files of parts being written, or litter."""
    staging = root / ".staging"
    if not staging.exists():
        return []
    kept = (BUNDLE_LOCK,)
    return sorted(p for p in staging.iterdir() if p.name not in kept and p.suffix != LOG_SUFFIX)


def part_rows(folder: Path) -> dict[str, int]:
    """Each part key the folder holds, with its number of rows; a key held twice fails."""
    rows: dict[str, int] = {}

    def add(key: str, count: int) -> None:
        assert key not in rows, f"part {key} is held twice in {folder}"
        rows[key] = count

    for path in sorted(folder.glob("*.parquet")):
        if is_bundle(path.name):
            for key, part in read_index(path).items():
                add(key, part.rows)
        else:
            assert path.name.startswith("part-"), path
            add(path.stem.removeprefix("part-"), pq.read_metadata(path).num_rows)
    return rows
