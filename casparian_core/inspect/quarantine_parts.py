"""The quarantine parts of the home's Parquet outputs, one input's quarantined rows each, read
from the part files themselves: which input (the part's recorded PartInfo, so a replay can run
the input under the same key and replace the part), which job and parser version wrote it.

A part is `{output dir}/{output}_quarantine/part-{key}.parquet` (sinks/file_sink.py); every row
of a part comes from one job of one input, so its first row names them all. Unreadable parts
are left out: the catalogue lists them as broken.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.contracts.lineage import LINEAGE_COLUMNS
from casparian_core.outputs import QUARANTINE_SUFFIX
from casparian_core.sinks.base import PartInfo
from casparian_core.sinks.file_sink import PART_INFO_KEY

if TYPE_CHECKING:
    import pyarrow as pa

PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
CONTEXT_COLUMNS = ("job_id", "parser", "parser_version", "source_path")
JOB_COLUMN = LINEAGE_COLUMNS[1]


@dataclass(frozen=True)
class QuarantinePart:
    output: str  # the output whose rows these are (without the suffix)
    part_key: str
    info: PartInfo
    job_id: str | None
    parser: str | None
    parser_version: str | None
    source_path: str | None
    entries: int


@dataclass(frozen=True)
class PartState:
    """What an input's parts in one output hold now."""

    job_id: str | None  # the job that wrote them; None when no part has rows
    parser_version: str | None
    quarantined_rows: frozenset[int]  # row indexes still quarantined


def quarantine_parts(output_dir: Path, output: str | None = None) -> Iterator[QuarantinePart]:
    """Every readable quarantine part with rows, of `output` only when given."""
    import pyarrow.parquet as pq

    for folder in sorted(output_dir.glob(f"*{QUARANTINE_SUFFIX}")):
        name = folder.name.removesuffix(QUARANTINE_SUFFIX)
        if output is not None and name != output:
            continue
        for path in sorted(folder.glob(f"{PART_PREFIX}*{PART_SUFFIX}")):
            try:
                found = pq.ParquetFile(path)
                info = _part_info(found.schema_arrow)
                if info is None or not found.metadata.num_rows:
                    continue
                first = found.read_row_group(0, columns=list(CONTEXT_COLUMNS)).slice(0, 1)
            except (OSError, ValueError, KeyError):
                continue
            values = {name: first.column(name)[0].as_py() for name in CONTEXT_COLUMNS}
            yield QuarantinePart(
                output=name,
                part_key=path.name.removeprefix(PART_PREFIX).removesuffix(PART_SUFFIX),
                info=info,
                entries=found.metadata.num_rows,
                **values,
            )


def part_rows(output_dir: Path, output: str, part_key: str) -> pa.Table | None:
    """The quarantine part's rows, every column; None when the output has no such part."""
    import pyarrow.parquet as pq

    path = _path(output_dir, output + QUARANTINE_SUFFIX, part_key)
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        return None


def part_state(output_dir: Path, output: str, part_key: str) -> PartState:
    """Who wrote the input's parts in `output` and its quarantine companion, and which of its
    rows the companion holds."""
    rows = part_rows(output_dir, output, part_key)
    if rows is not None and rows.num_rows:
        return PartState(
            rows.column("job_id")[0].as_py(),
            rows.column("parser_version")[0].as_py(),
            frozenset(rows.column("row_index").to_pylist()),
        )
    job_id, version = _written_by(_path(output_dir, output, part_key))
    return PartState(job_id, version, frozenset())


def _written_by(path: Path) -> tuple[str | None, str | None]:
    import pyarrow.parquet as pq

    try:
        found = pq.ParquetFile(path)
    except FileNotFoundError:
        return None, None
    info = _part_info(found.schema_arrow)
    version = None if info is None else info.parser_version
    if not found.metadata.num_rows:
        return None, version
    first = found.read_row_group(0, columns=[JOB_COLUMN]).slice(0, 1)
    return first.column(JOB_COLUMN)[0].as_py(), version


def _part_info(schema: pa.Schema) -> PartInfo | None:
    raw = (schema.metadata or {}).get(PART_INFO_KEY)
    return None if raw is None else PartInfo.from_json(raw)


def _path(output_dir: Path, output: str, part_key: str) -> Path:
    return output_dir / output / f"{PART_PREFIX}{part_key}{PART_SUFFIX}"
