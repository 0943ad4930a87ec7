"""The swap for folder sinks (Parquet, Arrow IPC): each output folder replaced whole, in one
`renameat2(RENAME_EXCHANGE)` of the staged folder and the live one.

The staged folder `DIR/.staging/backfill-{id}/{output}` holds the new parts; before the exchange
it also gets a hard link to every live part the backfill does not replace (another input's),
and a copy of every live bundle without the parts the backfill replaces (sinks/parquet_bundle.py),
so the folder swapped in is the whole output, and a marker file naming the backfill. A reader
globbing `DIR/{output}/*.parquet` (Inspect, `casparian query`, DuckDB) opens the old folder or
the new one: never both, never half. The exchange leaves the old folder at the staged path,
which is then removed.

Rolled forward after a crash: an output whose live folder has the marker was exchanged (its old
folder, if still staged, is removed, then the marker); any other staged output is prepared
again (links already made are kept) and exchanged.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.sinks import parquet_bundle
from casparian_core.sinks.base import OutputSchemaError
from casparian_core.sinks.bundle_index import log_path, record
from casparian_core.sinks.file_sink import ARROW_IPC, PARQUET, STAGING_DIR, FileFormat
from casparian_core.sinks.file_sink import _fsync_path as fsync_path

if TYPE_CHECKING:
    import pyarrow as pa

MARKER = ".casparian-backfill"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def staged_root(live_root: Path, backfill_id: str) -> Path:
    return live_root / STAGING_DIR / f"backfill-{backfill_id}"


def outputs(staged: Path) -> list[str]:
    """The output folders a backfill staged (the sink's own `.staging` is not one)."""
    if not staged.is_dir():
        return []
    return sorted(p.name for p in staged.iterdir() if p.is_dir() and not p.name.startswith("."))


def check(live_root: Path, staged: Path, part_keys: Collection[str]) -> None:
    """Refuse (before anything moves) an output whose kept parts have other columns than the
    new ones: the swapped folder would hold two schemas."""
    for output in outputs(staged):
        if (live_root / output / MARKER).exists():
            continue  # exchanged already
        new = _parts(staged / output)
        kept = _kept(live_root / output, staged / output, part_keys)
        if new and kept:
            theirs, ours = _schema(kept[0]), _schema(new[0])
            if not theirs.equals(ours, check_metadata=False):
                raise OutputSchemaError(
                    f"output '{output}' holds {len(kept)} part(s) of inputs this backfill does "
                    f"not run again (e.g. {kept[0].name}), whose columns differ from the new "
                    "version's: an output never holds two schemas. Run the backfill without "
                    "--limit, or with --force, so that every input is run again, or abandon it"
                )


def swap(
    live_root: Path,
    staged: Path,
    backfill_id: str,
    part_keys: Collection[str],
    before_each: Callable[[str], None],
) -> list[str]:
    """Exchange every staged output folder with the live one; the outputs swapped."""
    swapped = []
    for output in outputs(staged):
        live, new = live_root / output, staged / output
        if not (live / MARKER).exists():
            for part in _kept(live, new, part_keys):
                _keep(part, new, part_keys, move=False)
            _record_new_bundles(live_root, output, new)
            (new / MARKER).write_text(backfill_id)
            fsync_path(new)
            before_each(output)
            if live.exists():
                _exchange(new, live)
                _carry_late_parts(new, live, part_keys)
            else:
                os.rename(new, live)
            fsync_path(live_root)
        swapped.append(output)
        if new.exists():
            shutil.rmtree(new)  # the old folder, exchanged out
        (live / MARKER).unlink(missing_ok=True)
    return swapped


def _record_new_bundles(live_root: Path, output: str, new: Path) -> None:
    """Name the backfill's own bundles in the live output's bundle log before they go live (the
    kept ones are named there already, under the same names)."""
    live = live_root / output
    entries = [
        (key, bundle.name)
        for bundle in new.glob(f"{parquet_bundle.PREFIX}*{parquet_bundle.SUFFIX}")
        if not (live / bundle.name).exists()
        for key in parquet_bundle.read_index(bundle)
    ]
    if entries:
        record(log_path(live_root / STAGING_DIR, output), entries)


def _carry_late_parts(old: Path, live: Path, part_keys: Collection[str]) -> None:
    """Move into the swapped-in folder the parts another writer (`process`, the daemon)
    committed to the old one after its parts were linked and before the exchange: the old
    folder is removed next, and a committed part is never lost. Parts of the inputs the
    backfill ran again stay behind: the new folder has them."""
    late = _kept(old, live, part_keys)
    for part in late:
        _keep(part, live, part_keys, move=True)
    if late:
        fsync_path(live)


def _keep(part: Path, into: Path, part_keys: Collection[str], move: bool) -> None:
    """Put in `into` what the backfill keeps of a live file: a part file whole (a hard link, or
    the file itself when `move`), a bundle without the parts of the inputs run again (a copy
    written beside, then renamed: a reader never sees it half-written)."""
    index = parquet_bundle.read_index(part) if parquet_bundle.is_bundle(part.name) else {}
    if index.keys() & set(part_keys):
        target = into / part.name
        parquet_bundle.write_without(part, index, part_keys, target, into / f"{part.name}.tmp")
        if move:
            part.unlink()
    elif move:
        os.rename(part, into / part.name)
    else:
        with contextlib.suppress(FileExistsError):
            os.link(part, into / part.name)


def _kept(live: Path, new: Path, part_keys: Collection[str]) -> list[Path]:
    """The live parts the new folder must keep: those of inputs not run again."""
    if not live.is_dir():
        return []
    replaced = {f"part-{key}{fmt.suffix}" for key in part_keys for fmt in (PARQUET, ARROW_IPC)}
    staged = {p.name for p in _parts(new)}
    return [
        p
        for p in _parts(live)
        if p.name not in replaced and p.name not in staged and _keeps_a_part(p, part_keys)
    ]


def _keeps_a_part(file: Path, part_keys: Collection[str]) -> bool:
    """Whether a part file or bundle holds a part of an input the backfill does not run again
    (a part file is of one input, named by its key)."""
    if not parquet_bundle.is_bundle(file.name):
        return True
    return not parquet_bundle.read_index(file).keys() <= set(part_keys)


def _parts(folder: Path) -> list[Path]:
    """The part files and bundles of an output folder."""
    return sorted(
        p
        for prefix in ("part-", parquet_bundle.PREFIX)
        for fmt in (PARQUET, ARROW_IPC)
        for p in folder.glob(f"{prefix}*{fmt.suffix}")
        if p.is_file()
    )


def _schema(part: Path) -> pa.Schema:
    fmt: FileFormat = PARQUET if part.suffix == PARQUET.suffix else ARROW_IPC
    return fmt.read_schema(part).remove_metadata()


def _exchange(a: Path, b: Path) -> None:
    """Swap two folders in one step (Linux renameat2; ext4, xfs, btrfs, tmpfs support it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"cannot swap {a} and {b} atomically: {os.strerror(code)}")
