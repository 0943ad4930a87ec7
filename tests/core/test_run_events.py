"""Runs through the service publish their log lines (RunLog) and their end (RunFinished)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.engine.results import RunOptions, RunStatus
from casparian_core.events import DataChanged, Event, RunFinished, RunLog, RunSummary
from casparian_core.service import CoreService
from tests.bridge.conftest import WriteParser

LOGGING_PARSER = """
    import logging, os
    def parse(path):
        logging.getLogger("p").info("parsing %s", os.path.basename(path))
        return [{"text": open(path).read()}]
"""


def inputs(folder: Path, count: int) -> list[Path]:
    paths = [folder / f"in{number}.txt" for number in range(count)]
    for number, path in enumerate(paths):
        path.write_text(f"text {number}")
    return paths


def test_a_dev_run_publishes_each_inputs_log_lines_and_end(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    service = CoreService(fast_settings)
    events: list[Event] = []
    service.subscribe(events.append, RunLog, RunFinished)
    passed_on: list[str] = []
    paths = inputs(tmp_path, 2)

    results = service.run_parser(
        write_parser(LOGGING_PARSER),
        paths,
        RunOptions(sink_uri=f"parquet://{tmp_path / 'out'}"),
        on_log=lambda _job, _level, text: passed_on.append(text),
    )

    assert [result.status for result in results] == [RunStatus.COMPLETED] * 2
    finished = [event for event in events if isinstance(event, RunFinished)]
    assert finished == [RunFinished(result.job_id, RunSummary.of(result)) for result in results]
    assert finished[0].summary.rows == 1 and finished[0].summary.input_path == str(paths[0])
    lines = [event for event in events if isinstance(event, RunLog)]
    for path in paths:
        assert any(
            line.level == logging.INFO and f"parsing {path.name}" in line.text for line in lines
        )
    assert [line.text for line in lines] == passed_on  # the caller's callback still gets them


async def test_a_bench_test_publishes_its_log_lines_under_its_job_id_then_its_end(
    fast_settings: Settings, write_parser: WriteParser, tmp_path: Path
) -> None:
    [path] = inputs(tmp_path, 1)
    parser = write_parser(LOGGING_PARSER)
    events: list[Event] = []
    async with CoreService(fast_settings) as service:
        service.subscribe(events.append, RunLog, RunFinished, DataChanged)
        result = await service.bench.test_parser(parser, path)
        await asyncio.to_thread(service.events.close)  # deliver any change held back

    assert result.ok and result.job_id is not None
    logs = [event for event in events if isinstance(event, RunLog)]
    assert any(line.job_id == result.job_id and "parsing in0.txt" in line.text for line in logs)
    finished = [event for event in events if isinstance(event, RunFinished)]
    assert finished == [RunFinished(result.job_id, RunSummary.of(result))]
    # The end comes after the last line, and the test is recorded before DataChanged says so.
    kinds = [type(event) for event in events]
    assert kinds.index(RunFinished) > max(i for i, k in enumerate(kinds) if k is RunLog)
    assert DataChanged in kinds[kinds.index(RunFinished) :]
