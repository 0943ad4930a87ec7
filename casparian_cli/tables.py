"""`casparian tables`: every output table the home holds, as the Inspect screen lists them,
through `service.inspect`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from casparian_cli.service_call import with_service
from casparian_core.api import plural
from casparian_core.config import Settings

if TYPE_CHECKING:  # the CLI starts without pyarrow: the command loads what it needs
    from casparian_core.api import CatalogTable


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "tables", help="the output tables: rows, parts, columns, producers, quarantined rows"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run_tables)


def run_tables(args: argparse.Namespace, settings: Settings) -> int:
    tables = with_service(settings, lambda s: s.inspect.tables())
    if args.json:
        print(json.dumps({"tables": [_as_json(t) for t in tables]}, sort_keys=True))
    elif not tables:
        print("No output tables yet: `casparian process` or `casparian run` writes them.")
    else:
        for table in tables:
            print(_line(table))
            for broken in table.broken_parts:
                print(f"    unreadable part {broken.path}: {broken.reason}")
    return 0


def _line(table: CatalogTable) -> str:
    made_by = ", ".join(table.producers) or "unknown producer"
    line = (
        f"{table.name}  {plural(table.rows, 'row')} in {plural(table.parts, 'part')}, "
        f"{plural(len(table.columns), 'column')}, by {made_by}"
    )
    if table.last_job_id:
        line += f", last job {table.last_job_id}"
    if table.quarantine_table:
        line += f"; {table.quarantined_rows:,} quarantined (in {table.quarantine_table})"
    return line


def _as_json(table: CatalogTable) -> dict[str, object]:
    found = asdict(table)
    found["sink"] = str(table.sink)
    return found
