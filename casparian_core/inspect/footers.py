"""The rows, column layout and number of parts of an output file, read from its footer (Parquet)
or its batches' headers (Arrow IPC) once per process. A file is written under a staging name and
renamed into place whole (a bundle rewritten without some parts is a new file renamed over it),
so its path, size and modification time name its content: every look at the catalogue (each
query opens one) re-reads only the files that are new."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.sinks import parquet_bundle
from casparian_core.sinks.file_sink import PARQUET

if TYPE_CHECKING:
    import pyarrow as pa

CACHED_PARTS = 200_000  # ~200 bytes each


@dataclass(frozen=True)
class Footer:
    rows: int
    layout: str  # the columns, their order and types: parts of one layout read alike by position
    parts: int  # the inputs' parts it holds: 1, or a bundle's count (sinks/parquet_bundle.py)


def read_footer(part: Path) -> Footer:
    """OSError, or ValueError (pyarrow's ArrowInvalid) when the part is not readable."""
    stat = part.stat()
    return _footer(str(part), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=CACHED_PARTS)
def _footer(path: str, size: int, mtime_ns: int) -> Footer:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.endswith(PARQUET.suffix):
        metadata = pq.read_metadata(path)
        bundled = (metadata.metadata or {}).get(parquet_bundle.METADATA_KEY)
        parts = 1 if bundled is None else len(json.loads(bundled))
        return Footer(int(metadata.num_rows), _layout(metadata.schema.to_arrow_schema()), parts)
    with pa.memory_map(path) as source:
        reader = pa.ipc.open_file(source)
        rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
        return Footer(rows, _layout(reader.schema), 1)


def _layout(schema: pa.Schema) -> str:
    return schema.remove_metadata().to_string(show_field_metadata=False)
