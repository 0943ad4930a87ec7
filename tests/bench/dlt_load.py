"""What a dlt user would write to load the benchmark's small CSV files: a resource yielding one
Arrow table per file (read by pyarrow, as our parser does) into the `filesystem` destination as
Parquet. Run by bench_process as a process of its own, timed end to end like our commands.

Run: python -m tests.bench.dlt_load DATA_FOLDER OUTPUT_FOLDER WORK_FOLDER
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path


def main(data: Path, output: Path, work: Path) -> None:
    import dlt
    import pyarrow as pa
    import pyarrow.csv as csv
    from dlt.destinations import filesystem

    files = sorted(data.rglob("*.csv"))

    @dlt.resource(name="rows", write_disposition="append")
    def rows() -> Iterator[pa.Table]:
        for path in files:
            yield csv.read_csv(path)

    pipeline = dlt.pipeline(
        pipeline_name="bench_process",
        destination=filesystem(bucket_url=output.as_uri()),
        dataset_name="bench",
        pipelines_dir=str(work),
    )
    info = pipeline.run(rows(), loader_file_format="parquet")
    info.raise_on_failed_jobs()


if __name__ == "__main__":
    main(*(Path(arg) for arg in sys.argv[1:4]))
