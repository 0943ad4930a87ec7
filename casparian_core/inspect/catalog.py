"""The catalogue: the output tables of every sink the home knows of as DuckDB views, with what
is known of each (rows, parts, columns, the parser versions and jobs that produced it, its
quarantine companion).

Only committed parts are seen: a part is written under a staging name and renamed into place,
so the `*.parquet` files of a table folder are whole. A part that is not readable Parquet
(corrupt, truncated) is left out of its table's view and listed as broken, so the rest of the
table still answers. The connection is locked down as inspect/sql.py describes.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.config import DATABASE_NAME
from casparian_core.contracts.lineage import LINEAGE_COLUMNS
from casparian_core.inspect.footers import Footer, read_footer
from casparian_core.inspect.snapshot import SnapshotError, file_kind, snapshot
from casparian_core.inspect.sql import literal, lock_down
from casparian_core.outputs import QUARANTINE_SUFFIX
from casparian_core.sinks.base import quote_identifier as quote
from casparian_core.sinks.file_sink import ARROW_IPC, PARQUET
from casparian_core.sinks.table_sink import split_location

if TYPE_CHECKING:
    import duckdb

    from casparian_core.config import Settings

_, JOB_COLUMN, PARSER_COLUMN, VERSION_COLUMN = LINEAGE_COLUMNS


class SinkKind(StrEnum):
    PARQUET = "parquet"
    ARROW = "arrow"
    SQLITE = "sqlite"
    DUCKDB = "duckdb"


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str  # as DuckDB reads it


@dataclass(frozen=True)
class BrokenPart:
    path: str
    reason: str


@dataclass(frozen=True)
class CatalogTable:
    name: str  # the DuckDB view name
    sink: SinkKind
    location: str
    rows: int
    parts: int
    columns: list[ColumnInfo]
    producers: list[str]  # "parser@version"
    last_job_id: str | None
    quarantine_table: str | None
    quarantined_rows: int
    is_quarantine: bool
    broken_parts: list[BrokenPart]


@dataclass(frozen=True)
class _Source:
    """One table as its sink holds it, before it gets its view name."""

    output: str  # its name in its sink
    sink: SinkKind
    home: Path  # the sink's folder or file: the tables of one sink are named alike
    location: str
    files: list[Path]  # readable Parquet or Arrow IPC files by real path, newest last
    rows: int
    parts: int
    broken: list[BrokenPart]
    last_job: str | None = None  # from the queue, for a sink that keeps no order of parts
    # Parquet parts of more than one layout (a parser version added a column): DuckDB matches
    # their columns by name, which reads every part's schema before each query.
    mixed_layouts: bool = False


NOT_READ = Footer(0, "", 1)  # a part listed for its name only (sink_places)
Known = Mapping[str, str]  # a location jobs wrote to -> the last job that wrote there


def open_catalog(settings: Settings, known: Known | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with a view per output table over its readable parts."""
    named = _named(_sinks(settings, known or {}))
    return _connect(settings.output_dir, named)


def read_catalog(settings: Settings, known: Known | None = None) -> list[CatalogTable]:
    """Every output table, sorted by name. Blocking: call it from a thread."""
    named = _named(_sinks(settings, known or {}))
    con = _connect(settings.output_dir, named)
    try:
        by_place = {(s.home, s.output): (name, s.rows) for name, s in named.items()}
        return [_describe(con, name, source, by_place) for name, source in sorted(named.items())]
    finally:
        con.close()


@dataclass(frozen=True)
class TableCounts:
    """What the Home Hub's Inspect card shows: the output tables of every sink and their rows,
    and the rows of their quarantine companions."""

    tables: int
    rows: int
    quarantined_rows: int


def count_tables(settings: Settings, known: Known | None = None) -> TableCounts:
    """The counts of every sink's tables, from the Parquet footers, Arrow batch headers and
    the database files' snapshots, without DuckDB. Blocking: call it from a thread."""
    sources = [source for sink in _sinks(settings, known or {}) for source in sink]
    valid = [s for s in sources if not s.output.endswith(QUARANTINE_SUFFIX)]
    quarantined = sum(s.rows for s in sources if s.output.endswith(QUARANTINE_SUFFIX))
    return TableCounts(len(valid), sum(s.rows for s in valid), quarantined)


@dataclass(frozen=True)
class SinkPlace:
    """A sink the catalogue reads (quarantine replay reads its parts there): its folder or
    database file, and the prefix its tables' view names carry."""

    home: Path
    kind: SinkKind  # a folder's: PARQUET or ARROW, either of which it may hold
    prefix: str
    outputs: frozenset[str]  # its tables' names in the sink

    @property
    def is_folder(self) -> bool:
        return self.kind in (SinkKind.PARQUET, SinkKind.ARROW)


def sink_places(settings: Settings, known: Known | None = None) -> list[SinkPlace]:
    """Every sink with tables, as the catalogue names them. Blocking: call it from a thread.
    No part is read (a sink's tables and their names need only its part files' names): a
    capture before every run calls it, whatever the size of the sinks."""
    sinks = _sinks(settings, known or {}, counted=False)
    named = _named(sinks)
    prefixes = {(s.home, s.output): name[: len(name) - len(s.output)] for name, s in named.items()}
    return [
        SinkPlace(
            sources[0].home,
            sources[0].sink,
            prefixes[(sources[0].home, sources[0].output)],
            frozenset(source.output for source in sources),
        )
        for sources in sinks
    ]


def _sinks(settings: Settings, known: Known, *, counted: bool = True) -> list[list[_Source]]:
    """The tables of each sink: the home's output folder first, then the folders and database
    files jobs of the queue wrote to, except those inside another home (this home copied or
    moved: its jobs' locations name the old place, whose outputs are that home's). Without
    `counted`, a folder's parts are not read: no rows, none found broken."""
    output_dir = settings.output_dir
    roots = [output_dir.resolve()]
    files: dict[Path, dict[str, str]] = {}
    for location, job in known.items():
        split = split_location(location)
        if _in_another_home(split[0] if split else Path(location), settings.home.resolve()):
            continue
        if split is None:
            root = Path(location).resolve().parent
            if root not in roots:
                roots.append(root)
        else:
            files.setdefault(split[0], {})[split[1]] = job
    found = [_folder_sources(root, counted) for root in roots]
    found += [_file_sources(path, files[path], output_dir) for path in sorted(files)]
    return [sources for sources in found if sources]


def _in_another_home(path: Path, home: Path) -> bool:
    """Whether a folder above `path`, below or outside `home`, holds a home's database."""
    for folder in path.resolve().parents:
        if folder == home:
            return False
        if (folder / DATABASE_NAME).is_file():
            return True
    return False


def _folder_sources(root: Path, counted: bool = True) -> list[_Source]:
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        files, broken, rows, parts, layouts = [], [], 0, 0, set()
        for part in sorted(_parts_of(folder), key=lambda p: (p.stat().st_mtime_ns, p)):
            try:
                footer = read_footer(part) if counted else NOT_READ
            except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
                kind = "Parquet" if part.suffix == PARQUET.suffix else "Arrow IPC"
                broken.append(BrokenPart(str(part), f"not readable as {kind} ({error})"))
                continue
            files.append(part)
            rows += footer.rows
            parts += footer.parts
            if part.suffix == PARQUET.suffix:
                layouts.add(footer.layout)
        if files or broken:
            kinds = {p.suffix for p in files + [Path(b.path) for b in broken]}
            sink = SinkKind.PARQUET if PARQUET.suffix in kinds else SinkKind.ARROW
            found.append(
                _Source(
                    folder.name,
                    sink,
                    root,
                    str(folder),
                    files,
                    rows,
                    parts,
                    broken,
                    mixed_layouts=len(layouts) > 1,
                )
            )
    return found


def _parts_of(folder: Path) -> list[Path]:
    """The folder's parts by their real paths: DuckDB's allowed directories judge those, so a
    part linked from elsewhere cannot open a file outside the outputs."""
    real = folder.resolve()
    parts = [*real.glob(f"*{PARQUET.suffix}"), *real.glob(f"*{ARROW_IPC.suffix}")]
    return [part.resolve() if part.is_symlink() else part for part in parts]


def _file_sources(path: Path, outputs: dict[str, str], output_dir: Path) -> list[_Source]:
    """The tables of a SQLite or DuckDB sink file, through its Parquet snapshot; when the file
    cannot be read, each output jobs wrote there, empty, with the reason."""
    kind = SinkKind.SQLITE if file_kind(path) == "sqlite" else SinkKind.DUCKDB
    try:
        found = snapshot(path, output_dir)
    except SnapshotError as error:
        broken = [BrokenPart(str(path), str(error))]
        return [_Source(o, kind, path, str(path), [], 0, 0, broken) for o in sorted(outputs)]
    sources = []
    for output, file in sorted(found.tables.items()):
        rows = read_footer(file).rows
        job = outputs.get(output) or outputs.get(output.removesuffix(QUARANTINE_SUFFIX))
        parts = found.parts.get(output, 0)
        real = [file.resolve()]
        sources.append(_Source(output, kind, path, str(path), real, rows, parts, [], job))
    return sources


def _named(sinks: list[list[_Source]]) -> dict[str, _Source]:
    """Each table by its view name: its output's name, or, when an earlier sink has a table of
    that name, the sink's file or folder name before it (`warehouse_orders`), for all of that
    sink's tables alike so a table and its quarantine companion keep one prefix."""
    named: dict[str, _Source] = {}
    for sources in sinks:
        outputs = {source.output for source in sources}
        stem = sources[0].home.stem
        prefixes = itertools.chain(("", f"{stem}_"), (f"{stem}{n}_" for n in itertools.count(2)))
        prefix = next(p for p in prefixes if not {p + o for o in outputs} & named.keys())
        named.update({prefix + source.output: source for source in sources})
    return named


def _connect(output_dir: Path, named: Mapping[str, _Source]) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(":memory:")
    for index, (name, source) in enumerate(named.items()):
        parquet = [p for p in source.files if p.suffix == PARQUET.suffix]
        arrow = [p for p in source.files if p.suffix == ARROW_IPC.suffix]
        selects = []
        if parquet:
            files = ", ".join(literal(str(p)) for p in parquet)
            by_name = "true" if source.mixed_layouts else "false"
            selects.append(f"SELECT * FROM read_parquet([{files}], union_by_name = {by_name})")
        if arrow:  # DuckDB reads Arrow IPC files only with an extension: pyarrow scans them
            import pyarrow.dataset as ds  # ~0.15 s (it loads pandas when installed): only here

            scan = f"_cf_arrow_{index}"
            con.register(scan, ds.dataset([str(p) for p in arrow], format="ipc"))
            selects.append(f"SELECT * FROM {scan}")
        if not selects:  # every part broken: an empty view, so the name still answers
            selects.append("SELECT NULL AS no_readable_parts WHERE false")
        con.execute(f"CREATE VIEW {quote(name)} AS {' UNION ALL BY NAME '.join(selects)}")
    # Each table folder of another folder sink, not that sink's folder: files beside the tables
    # stay out of reach (a sink made at `/` must not open the whole disk).
    elsewhere = {
        Path(s.location)
        for s in named.values()
        if s.sink in (SinkKind.PARQUET, SinkKind.ARROW) and s.home != output_dir.resolve()
    }
    lock_down(con, output_dir, *sorted(elsewhere))
    return con


def _describe(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source: _Source,
    by_place: Mapping[tuple[Path, str], tuple[str, int]],
) -> CatalogTable:
    columns = [
        ColumnInfo(str(r[0]), str(r[1])) for r in con.execute(f"DESCRIBE {quote(name)}").fetchall()
    ]
    is_quarantine = source.output.endswith(QUARANTINE_SUFFIX)
    companion = (
        None if is_quarantine else by_place.get((source.home, source.output + QUARANTINE_SUFFIX))
    )
    producers = _producers(con, name, source, {c.name for c in columns})
    return CatalogTable(
        name=name,
        sink=source.sink,
        location=source.location,
        rows=source.rows,
        parts=source.parts,
        columns=columns,
        producers=producers,
        last_job_id=source.last_job or _newest_job(source, {c.name for c in columns}),
        quarantine_table=companion[0] if companion else None,
        quarantined_rows=companion[1] if companion else 0,
        is_quarantine=is_quarantine,
        broken_parts=source.broken,
    )


def _lineage_columns(names: set[str]) -> tuple[str, str, str] | None:
    """The parser, version and job columns: the lineage columns of valid rows, or the
    quarantine's own parser/job columns."""
    found = (
        (PARSER_COLUMN, VERSION_COLUMN, JOB_COLUMN)
        if PARSER_COLUMN in names
        else ("parser", "parser_version", "job_id")
    )
    return found if set(found) <= names else None


def _producers(
    con: duckdb.DuckDBPyConnection, name: str, source: _Source, names: set[str]
) -> list[str]:
    """The parser versions that wrote the table."""
    found = _lineage_columns(names)
    if found is None or not source.files:
        return []
    parser, version, _ = found
    # DISTINCT on the two columns, joined here: joining ten million pairs first took 4x longer.
    pairs = con.execute(
        f"SELECT DISTINCT {quote(parser)}, {quote(version)} FROM {quote(name)} "
        f"WHERE {quote(parser)} IS NOT NULL"
    ).fetchall()
    return sorted(f"{parser_name}@{number}" for parser_name, number in pairs)


def _newest_job(source: _Source, names: set[str]) -> str | None:
    """The job that wrote the table's newest part, read from that part alone."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found = _lineage_columns(names)
    if found is None or not source.files:
        return None
    newest, job = source.files[-1], found[2]
    with pa.memory_map(str(newest)) as mapped:
        if newest.suffix == PARQUET.suffix:
            part = pq.ParquetFile(mapped)
            if job not in part.schema_arrow.names:  # a part of other columns, put there by hand
                return None
            batches = part.iter_batches(columns=[job])
        else:
            reader = pa.ipc.open_file(mapped)
            if job not in reader.schema.names:
                return None
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        for batch in batches:  # the first that has a job: it is the same all through a part
            jobs = pc.drop_null(batch.column(job))
            if len(jobs):
                return str(jobs[0])
    return None
