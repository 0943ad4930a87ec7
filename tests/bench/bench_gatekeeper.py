"""The gatekeeper's scan at registration: a 20-file parser package, against parsing it alone.

The package is the repo's four example parsers plus sixteen helper modules (one trivial, fifteen
of ~150 lines each
(regexes, pyarrow and pandas conversions, os.path, json, a class with methods, imports between
the modules)), ~2,500 lines in all. `check_bundle` runs on it RUNS times; the baseline is
`ast.parse` of the same files, the part no scan can avoid. A large file (pandas' frame.py,
~20,000 lines) shows how the scan grows with size.

Run: .venv/bin/python -m tests.bench.bench_gatekeeper
"""

from __future__ import annotations

import ast
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pandas

from casparian_core.registry.gatekeeper import check_bundle
from tests.conftest import REPO_ROOT

RUNS = 20
HELPERS = 15
HELPER = '''"""Helper {n}: cleaning and typing of one record family."""

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers_{previous} import normalise as previous_normalise

log = logging.getLogger(__name__)
FIELD = re.compile(r"^(?P<key>[a-z_]+)=(?P<value>.*)$")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d")
TYPES: dict[str, pa.DataType] = {{"id": pa.int64(), "name": pa.string(), "amount": pa.float64()}}


@dataclass(frozen=True)
class Record{n}:
    id: int
    name: str
    amount: float | None
    when: dt.date | None

    KIND: ClassVar[str] = "record_{n}"

    def as_row(self) -> dict:
        return {{"id": self.id, "name": self.name, "amount": self.amount, "when": self.when}}


def normalise(text: str) -> str:
    text = previous_normalise(text.strip())
    return " ".join(part for part in text.split() if part)


def parse_date(text: str) -> dt.date | None:
    for date_format in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    return None


def fields(line: str) -> dict[str, str]:
    found = {{}}
    for part in line.split(";"):
        match = FIELD.match(part.strip())
        if match:
            found[match["key"]] = normalise(match["value"])
    return found


def record(line: str, number: int) -> Record{n} | None:
    values = fields(line)
    if "id" not in values:
        log.debug("line %d has no id", number)
        return None
    amount = values.get("amount")
    return Record{n}(
        id=int(values["id"]),
        name=values.get("name", ""),
        amount=float(amount) if amount else None,
        when=parse_date(values.get("when", "")),
    )


def read_config(path: str) -> dict:
    config_path = os.path.join(os.path.dirname(path), "config_{n}.json")
    if not os.path.exists(config_path):
        return {{}}
    with open(config_path, encoding="utf-8") as handle:
        return json.load(handle)


def table(records: list[Record{n}]) -> pa.Table:
    rows = [item.as_row() for item in records if item is not None]
    frame = pd.DataFrame(rows, columns=["id", "name", "amount", "when"])
    frame["name"] = frame["name"].str.upper()
    frame = frame.dropna(subset=["id"])
    result = pa.Table.from_pandas(frame, preserve_index=False)
    positive = pc.greater_equal(pc.fill_null(result["amount"], 0.0), 0.0)
    return result.filter(positive)


class Reader{n}:
    """Reads a file of `key=value;...` lines in chunks."""

    chunk_lines = 10_000

    def __init__(self, path: str) -> None:
        self.path = path
        self.config = read_config(path)
        self.seen = 0

    def chunks(self):
        batch = []
        with open(self.path, encoding=self.config.get("encoding", "utf-8")) as lines:
            for number, line in enumerate(lines, start=1):
                self.seen += 1
                item = record(line, number)
                if item is not None:
                    batch.append(item)
                if len(batch) == self.chunk_lines:
                    yield table(batch)
                    batch = []
        if batch:
            yield table(batch)

    def summary(self) -> str:
        size = os.path.getsize(self.path)
        return f"{{self.path}}: {{self.seen}} lines, {{size}} bytes"


def totals(tables: list[pa.Table]) -> dict[str, float]:
    amounts = [pc.sum(item["amount"]).as_py() or 0.0 for item in tables]
    counts = [item.num_rows for item in tables]
    return {{"amount": sum(amounts), "rows": float(sum(counts))}}


def describe(tables: list[pa.Table]) -> str:
    summary = totals(tables)
    return json.dumps(summary, sort_keys=True)


def schema() -> pa.Schema:
    return pa.schema([(name, kind) for name, kind in TYPES.items()])


def check(tables: list[pa.Table]) -> list[str]:
    problems = []
    for index, item in enumerate(tables):
        if item.schema.names != schema().names:
            problems.append(f"chunk {{index}} has columns {{item.schema.names}}")
    return problems
'''
FIRST_HELPER = "def normalise(text):\n    return text\n"


def bundle() -> dict[str, bytes]:
    """The four example parsers, a trivial helpers_0 and HELPERS templated helpers: 20 files."""
    files = {path.name: path.read_bytes() for path in sorted((REPO_ROOT / "parsers").glob("*.py"))}
    files["helpers_0.py"] = FIRST_HELPER.encode()
    for n in range(1, HELPERS + 1):
        files[f"helpers_{n}.py"] = HELPER.format(n=n, previous=n - 1).encode()
    return files


def timed(action: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each run (CPU time is steadier on a loaded machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def parse_all(files: dict[str, bytes]) -> None:
    for path, data in files.items():
        ast.parse(data, path)


def main() -> None:
    files = bundle()
    lines = sum(data.count(b"\n") for data in files.values())
    report = check_bundle(files, ())
    assert report.ok and not report.allowed, report.blocked
    scans, scan_cpus = timed(lambda: check_bundle(files, ()), RUNS)
    parses, parse_cpus = timed(lambda: parse_all(files), RUNS)
    scan, parse = statistics.median(scans), statistics.median(parses)
    scan_cpu, parse_cpu = statistics.median(scan_cpus), statistics.median(parse_cpus)
    print(f"{len(files)} files, {lines} lines, {RUNS} runs each")
    print(f"check_bundle: median {scan * 1000:.1f} ms (min {min(scans) * 1000:.1f}, max ", end="")
    print(f"{max(scans) * 1000:.1f}); CPU median {scan_cpu * 1000:.1f} ms; ", end="")
    print(f"{scan_cpu / len(files) * 1000:.2f} ms CPU per file")
    print(f"ast.parse alone: median {parse * 1000:.1f} ms, CPU {parse_cpu * 1000:.1f} ms; ", end="")
    print(f"scan / parse (CPU) = {scan_cpu / parse_cpu:.1f}x")
    big = Path(pandas.__file__).parent / "core" / "frame.py"
    data = big.read_bytes()
    big_scan = statistics.median(timed(lambda: check_bundle({"frame.py": data}, ()), 3)[1])
    big_parse = statistics.median(timed(lambda: ast.parse(data), 3)[1])
    big_lines = data.count(b"\n")
    print(f"one large file ({big_lines} lines, pandas frame.py): ", end="")
    print(f"{big_scan * 1000:.0f} ms CPU ({big_scan / big_parse:.1f}x its ast.parse)")


if __name__ == "__main__":
    main()
