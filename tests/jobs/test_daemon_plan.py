"""The daemon's batches after the first check only what changed (plan.PlannedFiles): a real
registered parser, a scanned source, the real sink check for the pairs that are checked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from casparian_core.jobs import plan as plan_module
from casparian_core.jobs.plan import Candidate, PlannedFiles, ProcessRequest, plan
from casparian_core.service import CoreService
from tests.jobs.pool_support import TOPIC, prepare, write_rows
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # a fixture, used by name


async def test_a_batch_after_the_first_checks_only_new_and_changed_files(
    locked: Fixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = await prepare(locked, {"a.csv": (3, "id,value"), "b.csv": (4, "id,value")})
    checked: list[list[str]] = []
    real_check = plan_module._already_done

    def spy(candidates: Sequence[Candidate], sink_uri: str) -> list[bool]:
        checked.append(sorted(Path(c.file.path).name for c in candidates))
        return real_check(candidates, sink_uri)

    monkeypatch.setattr(plan_module, "_already_done", spy)
    request = ProcessRequest()
    sink = f"parquet://{tmp_path / 'out'}"
    planned = PlannedFiles()

    async with CoreService(home.settings) as service:

        async def batch() -> list[str]:
            made = await plan(service.registry, service.scout, request, sink, planned)
            return sorted(Path(r.input_path).name for r in made.requests)

        assert await batch() == ["a.csv", "b.csv"]
        assert await batch() == []  # nothing changed: nothing checked
        write_rows(home.data / "b.csv", 9)  # changed: another size
        write_rows(home.data / "c.csv", 2)  # new
        await service.scout.scan(home.data, name="shop", tag=TOPIC)
        assert await batch() == ["b.csv", "c.csv"]
        everything = await plan(service.registry, service.scout, request, sink)

    assert checked == [["a.csv", "b.csv"], [], ["b.csv", "c.csv"], ["a.csv", "b.csv", "c.csv"]]
    assert everything.unchanged == 0 and len(everything.requests) == 3
