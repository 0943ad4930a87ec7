"""Where validated rows go: Parquet or Arrow IPC folders, SQLite or DuckDB files.

Every sink writes parts in a stream and commits each atomically; see `base` for the contract
and `uri.open_sink` for choosing one. Importing this package loads no pyarrow or duckdb.
"""

from casparian_core.sinks.base import OutputSchemaError, PartInfo, PartWriter, Sink, SinkError
from casparian_core.sinks.uri import open_sink

__all__ = ["OutputSchemaError", "PartInfo", "PartWriter", "Sink", "SinkError", "open_sink"]
