"""A contract inferred from the start of a sample file: pyarrow reads the first megabyte (CSV
and its kin, or JSON lines) and contracts/infer.py says what contract that data fits."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path
from typing import Any

SAMPLE_BYTES = 1024 * 1024
DELIMITERS = {".csv": ",", ".tsv": "\t", ".psv": "|"}
JSON_LINES = frozenset({".jsonl", ".ndjson", ".json"})


async def infer_contract(path: Path) -> dict[str, Any]:
    """{"outputs": {name: contract}, "rows_read": n} or {"error": why}."""
    return await asyncio.to_thread(_infer, path)


def _infer(path: Path) -> dict[str, Any]:
    import pyarrow as pa

    from casparian_core.contracts.infer import infer_spec
    from casparian_core.errors import CasparianError

    suffix = path.suffix.lower()
    if suffix not in DELIMITERS and suffix not in JSON_LINES:
        return {
            "error": "only CSV, TSV, PSV and JSON lines are inferred here; for other kinds, "
            "test a Level 1 parser without `outputs`: the test reports the schema it inferred"
        }
    try:
        with path.open("rb") as handle:
            data = handle.read(SAMPLE_BYTES + 1)
        cut = len(data) > SAMPLE_BYTES
        if cut:
            data = data[: data.rfind(b"\n", 0, SAMPLE_BYTES) + 1]
        table = _read(data, suffix)
        spec = infer_spec(table, _output_name(path))
    except (OSError, pa.ArrowException, CasparianError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    result: dict[str, Any] = {"outputs": {spec.name: json.loads(spec.schema_json())}}
    result["rows_read"] = table.num_rows
    if cut:
        result["note"] = "inferred from the first megabyte only"
    return result


def _read(data: bytes, suffix: str) -> Any:
    if suffix in DELIMITERS:
        import pyarrow.csv as pacsv

        options = pacsv.ParseOptions(delimiter=DELIMITERS[suffix])
        return pacsv.read_csv(io.BytesIO(data), parse_options=options)
    import pyarrow.json as pajson

    return pajson.read_json(io.BytesIO(data))


def _output_name(path: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", path.stem)
    return name if name[:1].isalpha() else f"t_{name}"
