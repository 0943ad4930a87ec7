"""Bundles: one Parquet file holding the parts of many small inputs of one output.

A folder sink gives each part a file of its own, `part-{key}.parquet`, but creating a file costs
more than encoding 50 rows (an inode, a directory entry, an fsync: on issue 16's 2,000 small CSV
files, creating the part files took a fifth of all the CPU). So the parts of small inputs that a
commit pass publishes together go into one file, `bundle-{uuid}.parquet`, written and
fsynced once and renamed into the output folder in one step: each input in it is still all or
nothing, and a reader globbing `*.parquet` sees each row once, with its lineage columns.

The footer's metadata `casparian.bundle` maps each part key to the part's PartInfo and its rows
(`start`, `rows`), so `Sink.committed` answers from footers, and a part can be taken out again:
`without` encodes a bundle again without some parts' rows (a rerun replaces an input, a backfill
keeps every input but those it runs again).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.sinks.base import PartInfo
from casparian_core.sinks.synced_write import write_synced

if TYPE_CHECKING:
    import pyarrow as pa

PREFIX = "bundle-"
SUFFIX = ".parquet"
METADATA_KEY = b"casparian.bundle"


@dataclass(frozen=True)
class BundledPart:
    """One input's part inside a bundle: what it is of, and where its rows are."""

    info: PartInfo
    start: int
    rows: int


@dataclass(frozen=True)
class PartRows:
    """A part to bundle: its key, what it is of, and its rows (with lineage columns)."""

    key: str
    info: PartInfo
    table: pa.Table


def is_bundle(name: str) -> bool:
    return name.startswith(PREFIX) and name.endswith(SUFFIX)


def new_name() -> str:
    return f"{PREFIX}{uuid.uuid4().hex}{SUFFIX}"


def encode(parts: Sequence[PartRows]) -> pa.Buffer:
    """The Parquet file of these parts, in this order. Their lineage columns' one-entry
    dictionaries are unified and the chunks combined first: one chunk per column encodes in a
    fraction of the time of one per part, into a third of the bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables([part.table.replace_schema_metadata(None) for part in parts])
    table = table.unify_dictionaries().combine_chunks()
    index, start = {}, 0
    for part in parts:
        index[part.key] = BundledPart(part.info, start, part.table.num_rows)
        start += part.table.num_rows
    schema = table.schema.with_metadata({METADATA_KEY: _index_json(index)})
    encoded = pa.BufferOutputStream()
    with pq.ParquetWriter(encoded, schema, compression="snappy") as writer:
        writer.write_table(table)
    return encoded.getvalue()


def read_index(path: Path) -> dict[str, BundledPart]:
    """The parts a bundle holds, from its footer. Raises OSError or ValueError for a file that
    cannot be read as a bundle."""
    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError(f"{path} has no {METADATA_KEY.decode()} metadata")
    parts = {}
    try:
        for key, entry in json.loads(raw).items():
            info = PartInfo(**entry["info"])
            parts[key] = BundledPart(info, int(entry["start"]), int(entry["rows"]))
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path}: malformed {METADATA_KEY.decode()} metadata ({error})") from error
    return parts


def without(bundle: Path, index: dict[str, BundledPart], keys: Collection[str]) -> pa.Buffer | None:
    """The bundle (whose parts are `index`) encoded again without the rows of the parts
    `keys`; None when no other part remains."""
    import pyarrow.parquet as pq

    kept = sorted((part.start, key, part) for key, part in index.items() if key not in keys)
    if not kept:
        return None
    table = pq.read_table(bundle).replace_schema_metadata(None)
    return encode(
        [PartRows(key, part.info, table.slice(start, part.rows)) for start, key, part in kept]
    )


def write_without(
    bundle: Path, index: dict[str, BundledPart], keys: Collection[str], target: Path, scratch: Path
) -> bool:
    """Put at `target` (the bundle itself, or a copy elsewhere) the bundle without the parts
    `keys`: written and fsynced at `scratch`, then renamed, so it is never seen half-written.
    False, writing nothing, when no other part remains."""
    content = without(bundle, index, keys)
    if content is None:
        return False
    try:
        write_synced(scratch, content)
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return True


def _index_json(index: dict[str, BundledPart]) -> bytes:
    return json.dumps(
        {
            key: {"info": part.info.as_dict(), "start": part.start, "rows": part.rows}
            for key, part in index.items()
        },
        sort_keys=True,
    ).encode()
