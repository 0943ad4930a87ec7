"""`casparian query "<SQL>"`: one read-only SELECT over the output tables (their names as
`casparian tables` lists them), printed as a table, CSV or JSON, or written whole to a CSV or
Parquet file, through `service.inspect` (DuckDB, locked down: docs/inspect.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_cli.service_call import with_service
from casparian_core.api import plural
from casparian_core.config import Settings

if TYPE_CHECKING:  # the CLI starts without pyarrow: the command loads what it needs
    from casparian_core.api import QueryResult

FORMATS = ("table", "csv", "json", "parquet")
DEFAULT_LIMIT = 1000  # rows printed unless --limit says otherwise (a file gets every row)
CELL_WIDTH = 40  # a printed table cuts longer values
USAGE_EXIT = 2


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("query", help="run one read-only SELECT over the output tables")
    parser.add_argument(
        "sql", help='one SELECT, e.g. "SELECT region, count(*) FROM sales GROUP BY 1"'
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write every row to FILE (csv or parquet)"
    )
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help=f"at most N rows (printed: default {DEFAULT_LIMIT}; to a file: all)",
    )
    parser.set_defaults(handler=run_query)


def run_query(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit is not None and args.limit < 1:
        return _usage("--limit must be 1 or more.")
    if args.output is not None:
        if args.format not in ("csv", "parquet"):
            return _usage("--output writes CSV or Parquet: add --format csv or --format parquet.")
        return _to_file(args, settings)
    if args.format == "parquet":
        return _usage("Parquet is binary: add --output FILE to write it to a file.")
    limit = args.limit or DEFAULT_LIMIT
    result = with_service(settings, lambda s: s.inspect.query(args.sql, max_rows=limit))
    if args.format == "json":
        print(json.dumps(_as_json(result), default=str))
    elif args.format == "csv":
        _print_csv(result)
    else:
        print(_as_text(result))
    if result.truncated:
        print(
            f"casparian: only the first {plural(limit, 'row')} shown; more matched. Raise "
            "--limit, or write them all with --output FILE.",
            file=sys.stderr,
        )
    return 0


def _usage(message: str) -> int:
    print(f"casparian query: {message}", file=sys.stderr)
    return USAGE_EXIT


def _to_file(args: argparse.Namespace, settings: Settings) -> int:
    from casparian_core.api import ExportFormat

    sql = args.sql if args.limit is None else f"SELECT * FROM ({args.sql}) LIMIT {args.limit}"
    written = with_service(
        settings, lambda s: s.inspect.export(sql, args.output, ExportFormat(args.format))
    )
    print(f"Wrote {plural(written.rows, 'row')} to {written.path} ({written.bytes:,} bytes).")
    return 0


def _as_json(result: QueryResult) -> dict[str, object]:
    return {
        "columns": result.columns,
        "types": result.types,
        "rows": result.table.to_pylist(),
        "truncated": result.truncated,
        "elapsed_ms": round(result.elapsed_ms, 1),
    }


def _print_csv(result: QueryResult) -> None:
    import pyarrow.csv as csv

    sys.stdout.flush()
    with open(sys.stdout.fileno(), "wb", closefd=False) as out:
        csv.write_csv(result.table, out)


def _as_text(result: QueryResult) -> str:
    """An aligned table: the column names, then each row, values cut at CELL_WIDTH."""
    rows = [[_cell(value) for value in row.values()] for row in result.table.to_pylist()]
    header = result.columns
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(header)]
    lines = ["  ".join(name.ljust(w) for name, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(f"({plural(len(rows), 'row')}, {result.elapsed_ms:.0f} ms)")
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: object) -> str:
    text = "NULL" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"
