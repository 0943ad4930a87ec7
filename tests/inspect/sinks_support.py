"""Outputs in every kind of sink for Inspect's tests, written by the real sinks, and the queue
records of the jobs that wrote them (the catalogue finds sinks besides the home's output folder
through those records)."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa

from casparian_core.jobs import queue
from casparian_core.jobs.model import JobRequest, JobSuccess
from casparian_core.service import CoreService
from casparian_core.sinks import PartInfo, open_sink
from tests.conftest import fixed_clock


def sales(count: int, job: str, start: int = 0) -> pa.Table:
    """Rows as the engine writes them: values and the lineage columns."""
    return pa.table(
        {
            "sale_id": pa.array(range(start, start + count), pa.int64()),
            "amount": pa.array([i * 0.5 for i in range(start, start + count)], pa.float64()),
            "region": pa.array([("north", "south")[i % 2] for i in range(count)]),
            "_cf_source_hash": pa.array(["5e" * 32] * count),
            "_cf_job_id": pa.array([job] * count),
            "_cf_parser": pa.array(["sales_csv"] * count),
            "_cf_parser_version": pa.array(["2.0.0"] * count),
        }
    )


def rejected(count: int, job: str) -> pa.Table:
    """A quarantine part as the engine writes it."""
    return pa.table(
        {
            "row_index": pa.array(range(count), pa.int64()),
            "column": ["amount"] * count,
            "rule": ["min"] * count,
            "reason": ["value -1 is below min 0"] * count,
            "row_json": ['{"amount": -1}'] * count,
            "source_path": ["/data/sales.csv"] * count,
            "parser": ["sales_csv"] * count,
            "parser_version": ["2.0.0"] * count,
            "job_id": [job] * count,
        }
    )


def write_parts(uri: str, parts: dict[str, pa.Table], key: str = "sales.csv") -> dict[str, str]:
    """Commit one part per output (one input's parts, together) through the sink of `uri`;
    where each output is, as the sink says it."""
    sink = open_sink(uri)
    try:
        info = PartInfo(key, "5e" * 32, "2.0.0")
        writers = []
        for output, table in parts.items():
            writer = sink.begin(output, key, table.schema, info)
            writer.write(table)
            writers.append(writer)
        sink.commit_together(writers).result()
        return {output: sink.location(output) for output in parts}
    finally:
        sink.close()


async def record_job(service: CoreService, locations: dict[str, str], minutes: int = 0) -> str:
    """A job of the queue, completed, that wrote these outputs; its id."""
    now = fixed_clock() + timedelta(minutes=minutes)
    request = JobRequest("sales_csv", "2.0.0", f"/data/sales-{minutes}.csv")
    (made,) = await service.db.write(queue.enqueue, [request], now)
    claimed = await service.db.write(queue.claim, "w0", now)
    assert claimed is not None and claimed.job_id == made.job_id
    outputs = {name: {"location": place, "rows": 1} for name, place in locations.items()}
    done = await service.db.write(queue.complete, made.job_id, "w0", JobSuccess(1, 0, outputs), now)
    assert done
    return made.job_id
