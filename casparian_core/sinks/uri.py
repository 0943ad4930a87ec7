"""Choosing a sink from a `--sink` URI.

`parquet://DIR` and `arrow://DIR` take the rest of the URI as the folder (`parquet://./out`,
`parquet:///abs/out`); `sqlite:///FILE` and `duckdb:///FILE` follow SQLAlchemy: three slashes
then a relative path, four for an absolute one (`sqlite:////abs/out.db`). Relative paths are
resolved against the current folder when the sink is opened. `canonical_uri` spells a URI as
the sink it opens names itself (`Sink.uri`: the path resolved), so two spellings of one sink
compare equal (the queue's jobs carry it, and a pool claims the jobs of its own sink).
"""

from __future__ import annotations

from pathlib import Path

from casparian_core.sinks.base import Sink, SinkError

FOLDER_SCHEMES = ("parquet", "arrow")
FILE_SCHEMES = ("sqlite", "duckdb")
EXAMPLES = "parquet://DIR, arrow://DIR, sqlite:///FILE or duckdb:///FILE"


def open_sink(uri: str) -> Sink:
    """The sink a URI names."""
    scheme, path = _parse(uri)
    if scheme in FOLDER_SCHEMES:
        return _folder_sink(scheme, path)
    if path.is_dir():
        raise SinkError(f"sink {uri!r} is a folder; name a database file")
    return _file_sink(scheme, path)


def canonical_uri(uri: str) -> str:
    """The URI as the sink it names spells itself (`open_sink(uri).uri`), without opening it."""
    scheme, path = _parse(uri)
    return f"{scheme}://{path}" if scheme in FOLDER_SCHEMES else f"{scheme}:///{path}"


def _parse(uri: str) -> tuple[str, Path]:
    """The scheme and the resolved path of a sink URI; SinkError when it is not one."""
    scheme, separator, rest = uri.partition("://")
    if not separator:
        raise SinkError(f"sink {uri!r} is not a URI; use {EXAMPLES}")
    if scheme in FOLDER_SCHEMES:
        if not rest:
            raise SinkError(f"sink {uri!r} names no folder; use {scheme}://DIR")
        return scheme, Path(rest).expanduser().resolve()
    if scheme in FILE_SCHEMES:
        if not rest.startswith("/") or rest in ("/", "//"):
            raise SinkError(
                f"sink {uri!r} is malformed; use {scheme}:///relative/file or "
                f"{scheme}:////absolute/file"
            )
        return scheme, Path(rest[1:]).expanduser().resolve()
    raise SinkError(f"sink {uri!r} has an unknown scheme {scheme!r}; use {EXAMPLES}")


def _folder_sink(scheme: str, root: Path) -> Sink:
    from casparian_core.sinks.file_sink import ARROW_IPC, PARQUET, FileSink

    return FileSink(root, PARQUET if scheme == "parquet" else ARROW_IPC)


def _file_sink(scheme: str, path: Path) -> Sink:
    if scheme == "sqlite":
        from casparian_core.sinks.sqlite_sink import SqliteSink

        return SqliteSink(path)
    from casparian_core.sinks.duckdb_sink import DuckdbSink

    return DuckdbSink(path)
