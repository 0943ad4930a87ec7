"""The quarantine parts of every sink the catalogue knows, one input's quarantined rows each, read
from the sinks themselves: which input (the part's recorded PartInfo, so a replay can run the
input under the same key into the same sink and replace the part), which job and parser version
wrote it, and what an input's parts hold now (settling a replay).

- Folder sinks (Parquet, Arrow IPC): a part is `{root}/{output}_quarantine/part-{key}.{suffix}`
  (sinks/file_sink.py), its PartInfo in the file's schema metadata (the parts of the outputs
  themselves may be in bundles, sinks/parquet_bundle.py; quarantine parts never are).
  Unreadable part files (corrupt, truncated) are left out and named in the store's
  `unreadable` (the catalogue lists them as broken); reading an input's state through one is a
  QuarantineUnreadableError.
- Database sinks (SQLite, DuckDB): the `{output}_quarantine` table, its rows tagged with their
  part (`_cf_part`), the PartInfo in `_cf_parts` (sinks/table_sink.py). They are read through
  the sink itself, so a DuckDB file is opened in turn with its writers (sinks/file_turns.py).
  A file that is missing or not a database, or a quarantine table without the columns the
  engine writes, is a QuarantineUnreadableError: replay then changes nothing.

Every row of a part comes from one job of one input, so its first row names them all.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from casparian_core.contracts.lineage import LINEAGE_COLUMNS
from casparian_core.inspect.errors import QuarantineUnreadableError
from casparian_core.inspect.quarantine import ENTRY_COLUMNS
from casparian_core.inspect.snapshot import file_kind
from casparian_core.outputs import QUARANTINE_SUFFIX
from casparian_core.sinks.base import PART_COLUMN, PartInfo, SinkError
from casparian_core.sinks.base import quote_identifier as quote
from casparian_core.sinks.bundle_index import BundleIndex
from casparian_core.sinks.file_sink import (
    ARROW_IPC,
    PARQUET,
    PART_INFO_KEY,
    STAGING_DIR,
    FileFormat,
)
from casparian_core.sinks.table_sink import PARTS_TABLE

if TYPE_CHECKING:
    import pyarrow as pa

    from casparian_core.inspect.catalog import SinkPlace
    from casparian_core.sinks.table_sink import TableSink

PART_PREFIX = "part-"
CONTEXT_COLUMNS = ("job_id", "parser", "parser_version", "source_path")
ROW_COLUMNS = (*ENTRY_COLUMNS, "row_json")  # an entry whole: its columns and the row as made
JOB_COLUMN = LINEAGE_COLUMNS[1]
FORMATS = {PARQUET.scheme: PARQUET, ARROW_IPC.scheme: ARROW_IPC}
DATABASE_SCHEMES = ("sqlite", "duckdb")
KEYS_AT_ONCE = 500  # part keys bound in one query: well under SQLite's limit on parameters


@dataclass(frozen=True)
class QuarantinePart:
    output: str  # the output whose rows these are, as the catalogue names it (no suffix)
    part_key: str
    info: PartInfo
    job_id: str | None
    parser: str | None
    parser_version: str | None
    source_path: str | None
    entries: int
    sink_uri: str  # the sink holding it: a replay writes there
    sink_output: str  # the output's name in that sink


@dataclass(frozen=True)
class PartState:
    """What an input's parts in one output hold now."""

    job_id: str | None  # the job that wrote them; None when no part has rows
    parser_version: str | None
    quarantined_rows: frozenset[int]  # row indexes still quarantined


class PartStore(Protocol):
    uri: str
    unreadable: list[str]  # the part files `parts` left out, "path (why)" each

    def parts(
        self, outputs: Iterable[str] | None = None, keys: Collection[str] | None = None
    ) -> Iterator[QuarantinePart]:
        """Every quarantine part with rows (of the outputs named, of the inputs whose part
        keys are given, when given), each named as its sink names it. With `keys`, only
        those parts are read: capturing before a run costs what it re-runs, not the sink."""

    def rows(self, output: str, part_key: str) -> list[dict[str, Any]]:
        """The rows of the input's quarantine part, ROW_COLUMNS each; [] when it has none."""

    def state(self, output: str, part_key: str) -> PartState:
        """Who wrote the input's parts in `output` and its quarantine companion, and which of
        its rows the companion holds."""


def quarantine_parts(
    places: Iterable[SinkPlace], output: str | None, unreadable: list[str] | None = None
) -> Iterator[QuarantinePart]:
    """The quarantine parts of every sink, each named as the catalogue names its output; of
    `output` only (a catalogue name) when given. A sink without that output is not read. The
    part files that cannot be read are added to `unreadable`."""
    for place in places:
        wanted = place.outputs
        if output is not None:
            names = (output, output + QUARANTINE_SUFFIX)
            wanted = frozenset(name for name in place.outputs if place.prefix + name in names)
            if not wanted:
                continue
        for store in stores_at(place):
            for part in store.parts(wanted):
                yield dataclasses.replace(part, output=place.prefix + part.sink_output)
            if unreadable is not None:
                unreadable += store.unreadable


def stores_at(place: SinkPlace) -> list[PartStore]:
    if place.is_folder:
        return [FolderStore(place.home, PARQUET), FolderStore(place.home, ARROW_IPC)]
    return [TableStore(place.home, str(place.kind))]


def store_for(uri: str) -> PartStore:
    """The store of the sink a replay wrote to, by its URI (as the sinks state it)."""
    scheme, _, rest = uri.partition("://")
    if scheme in FORMATS:
        return FolderStore(Path(rest), FORMATS[scheme])
    if scheme in DATABASE_SCHEMES:
        return TableStore(Path(rest[1:]), scheme)
    raise ValueError(f"not a sink URI: {uri!r}")


class FolderStore:
    def __init__(self, root: Path, file_format: FileFormat) -> None:
        self.root = root
        self.format = file_format
        self.uri = f"{file_format.scheme}://{root}"
        self.unreadable: list[str] = []
        self._last: tuple[Path, pa.Table] | None = None  # the part read last
        self._bundles: dict[str, BundleIndex] = {}  # per output

    def parts(
        self, outputs: Iterable[str] | None = None, keys: Collection[str] | None = None
    ) -> Iterator[QuarantinePart]:
        wanted = None if outputs is None else set(outputs)
        for folder in sorted(self.root.glob(f"*{QUARANTINE_SUFFIX}")):
            if wanted is not None and folder.name not in wanted:
                continue
            name = folder.name.removesuffix(QUARANTINE_SUFFIX)
            if keys is None:
                paths = sorted(folder.glob(f"{PART_PREFIX}*{self.format.suffix}"))
            else:  # a stat each: most inputs a run re-runs have no quarantine part
                paths = [self._path(folder.name, key) for key in sorted(keys)]
                paths = [path for path in paths if path.is_file()]
            for path in paths:
                part = self._part(name, path)
                if part is not None:
                    yield part

    def rows(self, output: str, part_key: str) -> list[dict[str, Any]]:
        path = self._path(output + QUARANTINE_SUFFIX, part_key)
        try:
            table = self._read_whole(path)
        except FileNotFoundError:
            return []
        _check_columns(table.column_names, path)
        return table.select(list(ROW_COLUMNS)).to_pylist()

    def state(self, output: str, part_key: str) -> PartState:
        rows = self.rows(output, part_key)
        if rows:
            return _state_of(rows)
        path = self._path(output, part_key)
        try:
            table = self._read_whole(path)
        except FileNotFoundError:
            return self._bundled_state(output, part_key)
        info = _part_info(table.schema)
        version = None if info is None else info.parser_version
        jobs = table.column(JOB_COLUMN) if JOB_COLUMN in table.column_names else None
        job = jobs[0].as_py() if jobs is not None and len(jobs) else None
        return PartState(job, version, frozenset())

    def _bundled_state(self, output: str, part_key: str) -> PartState:
        """The state of a part in one of the output's bundles (sinks/parquet_bundle.py), read
        from the bundle's footer and the first of its rows; an empty state when none holds it."""
        import pyarrow.parquet as pq

        index = self._bundles.get(output)
        if index is None:
            index = BundleIndex(self.root / STAGING_DIR, self.root / output)
            self._bundles[output] = index
        found = index.find(part_key)
        if found is None:
            return PartState(None, None, frozenset())
        path, part = found
        job = None
        if part.rows:
            try:
                jobs = pq.read_table(path, columns=[JOB_COLUMN]).column(JOB_COLUMN)
            except (OSError, ValueError) as error:
                raise QuarantineUnreadableError(
                    f"{path} cannot be read ({error}): its inputs' quarantined rows are left as "
                    "they are; restore the file, or remove it"
                ) from None
            job = jobs[part.start].as_py()
        return PartState(job, part.info.parser_version, frozenset())

    def _part(self, output: str, path: Path) -> QuarantinePart | None:
        try:
            table = self._read(path)
        except FileNotFoundError:  # no part of that key (asked for by key)
            return None
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
            self.unreadable.append(f"{path} ({error})")
            return None
        info = _part_info(table.schema)
        if info is None or not table.num_rows:
            return None
        _check_columns(table.column_names, path)
        first = table.select(list(CONTEXT_COLUMNS)).slice(0, 1).to_pylist()[0]
        key = path.name.removeprefix(PART_PREFIX).removesuffix(self.format.suffix)
        return QuarantinePart(
            output, key, info, entries=table.num_rows, sink_uri=self.uri, sink_output=output,
            **first,
        )  # fmt: skip

    def _read_whole(self, path: Path) -> pa.Table:
        """The part at `path`; FileNotFoundError when there is none, QuarantineUnreadableError
        when it cannot be read (corrupt, truncated): its rows are neither settled nor lost."""
        try:
            return self._read(path)
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as error:
            raise QuarantineUnreadableError(
                f"{path} cannot be read ({error}): its input's quarantined rows are left as they "
                "are; restore the file, or remove it"
            ) from None

    def _read(self, path: Path) -> pa.Table:
        """The part whole; the last one read is kept, as a capture asks for the rows of the
        part it has just found (read once)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._last is not None and self._last[0] == path:
            return self._last[1]
        if self.format is PARQUET:
            with pq.ParquetFile(path) as part:  # no dataset discovery: half read_table's time
                table = part.read()
        else:
            with pa.memory_map(str(path)) as source:
                table = pa.ipc.open_file(source).read_all()
        self._last = (path, table)
        return table

    def _path(self, output: str, part_key: str) -> Path:
        return self.root / output / f"{PART_PREFIX}{part_key}{self.format.suffix}"


class TableStore:
    def __init__(self, path: Path, scheme: str) -> None:
        self.path = path
        self.scheme = scheme
        self.uri = f"{scheme}:///{path}"
        self.unreadable: list[str] = []  # a database is read whole or not at all (raises)

    def parts(
        self, outputs: Iterable[str] | None = None, keys: Collection[str] | None = None
    ) -> Iterator[QuarantinePart]:
        with self._sink() as sink:
            infos = _infos(sink)
            names = sorted({output for output, _ in infos if output.endswith(QUARANTINE_SUFFIX)})
            found = []
            for table in names if outputs is None else [n for n in names if n in set(outputs)]:
                self._check(sink, table)
                grouped = _grouped(sink, table, keys)
                name = table.removesuffix(QUARANTINE_SUFFIX)
                for key, count, *context in grouped:
                    info = infos.get((table, key))
                    if info is not None and count:
                        values = dict(zip(CONTEXT_COLUMNS, context, strict=True))
                        found.append(
                            QuarantinePart(
                                name, key, info, entries=int(count), sink_uri=self.uri,
                                sink_output=name, **values,
                            )
                        )  # fmt: skip
        yield from found

    def rows(self, output: str, part_key: str) -> list[dict[str, Any]]:
        with self._sink() as sink:
            return self._rows(sink, output + QUARANTINE_SUFFIX, part_key)

    def state(self, output: str, part_key: str) -> PartState:
        with self._sink() as sink:
            rows = self._rows(sink, output + QUARANTINE_SUFFIX, part_key)
            if rows:
                return _state_of(rows)
            info = _infos(sink).get((output, part_key))
            version = None if info is None else info.parser_version
            if JOB_COLUMN not in sink.columns(output):
                return PartState(None, version, frozenset())
            jobs = sink.read(
                f"SELECT {quote(JOB_COLUMN)} FROM main.{quote(output)} "
                f"WHERE {PART_COLUMN} = ? LIMIT 1",
                (part_key,),
            )
            return PartState(jobs[0][0] if jobs else None, version, frozenset())

    def _rows(self, sink: TableSink, table: str, part_key: str) -> list[dict[str, Any]]:
        if not sink.columns(table):
            return []
        self._check(sink, table)
        found = sink.read(
            f"SELECT {', '.join(quote(c) for c in ROW_COLUMNS)} FROM main.{quote(table)} "
            f"WHERE {PART_COLUMN} = ? ORDER BY row_index",
            (part_key,),
        )
        return [dict(zip(ROW_COLUMNS, row, strict=True)) for row in found]

    def _check(self, sink: TableSink, table: str) -> None:
        _check_columns(sink.columns(table), f"{self.path} (table {table})")

    @contextlib.contextmanager
    def _sink(self) -> Iterator[TableSink]:
        from casparian_core.sinks import open_sink

        kind = file_kind(self.path)
        if kind != self.scheme:
            state = (
                "missing"
                if not self.path.exists()
                else "not an SQLite or DuckDB database"
                if kind is None
                else f"a {kind} database, not a {self.scheme} one"
            )
            raise QuarantineUnreadableError(
                f"The sink file {self.path} is {state}: its quarantined rows cannot be read, "
                "so nothing was replayed from it; restore the file, or leave it out with "
                "--output"
            )
        sink: TableSink = open_sink(self.uri)  # type: ignore[assignment]
        try:
            yield sink
        except SinkError as error:
            raise QuarantineUnreadableError(
                f"The sink file {self.path} could not be read ({error}): nothing was replayed "
                "from it; check the file"
            ) from None
        finally:
            sink.close()


def _grouped(sink: TableSink, table: str, keys: Collection[str] | None) -> list[Any]:
    """Each part's key, row count and CONTEXT_COLUMNS (of the parts of `keys`, when given)."""
    columns = ", ".join(f"min({quote(c)})" for c in CONTEXT_COLUMNS)
    query = f"SELECT {PART_COLUMN}, count(*), {columns} FROM main.{quote(table)} {{}} GROUP BY 1"
    if keys is None:
        return sorted(sink.read(query.format("")))
    found: list[Any] = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), KEYS_AT_ONCE):
        chunk = ordered[start : start + KEYS_AT_ONCE]
        where = f"WHERE {PART_COLUMN} IN ({', '.join('?' * len(chunk))})"
        found += sink.read(query.format(where), chunk)
    return sorted(found)


def _infos(sink: TableSink) -> dict[tuple[str, str], PartInfo]:
    if not sink.columns(PARTS_TABLE):
        return {}
    rows = sink.read(
        f"SELECT output, part, input_key, source_hash, parser_version FROM main.{PARTS_TABLE}"
    )
    return {(output, part): PartInfo(*info) for output, part, *info in rows}


def _check_columns(columns: Iterable[str], where: object) -> None:
    """A quarantine table must have the columns the engine writes; else replay stops here."""
    missing = [c for c in ROW_COLUMNS if c not in set(columns)]
    if missing:
        raise QuarantineUnreadableError(
            f"{where} is not a quarantine table as Casparian writes it (no "
            f"{', '.join(missing)}): its rows cannot be replayed, and nothing was changed; "
            "restore it, or leave its output out with --output"
        )


def _state_of(rows: list[dict[str, Any]]) -> PartState:
    return PartState(
        rows[0]["job_id"], rows[0]["parser_version"], frozenset(r["row_index"] for r in rows)
    )


def _part_info(schema: pa.Schema) -> PartInfo | None:
    raw = (schema.metadata or {}).get(PART_INFO_KEY)
    return None if raw is None else PartInfo.from_json(raw)
