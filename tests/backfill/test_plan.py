"""The backfill plan (`service.backfill.plan`, `casparian backfill PARSER`): real registered
versions, real prod-loop history; nothing runs."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from casparian_core.registry.errors import ParserNotRegisteredError
from casparian_core.service import CoreService
from tests.backfill.support import FILES, SAME, WIDER, cli, cli_json, processed_home
from tests.inspect.replay_support import register
from tests.registry.test_envs import Fixture, locked

__all__ = ["locked"]  # the fixture, used by name


async def test_the_plan_counts_the_older_versions_files_and_shows_the_contract_diff(
    locked: Fixture,
) -> None:
    home = await processed_home(locked)
    await register(home, WIDER)
    before = pq.read_table(home.settings.output_dir / "prices")

    plan = cli_json(home, "prices")
    text = cli(home, "prices")

    assert plan["version"] == "2.0.0"
    assert plan["by_version"] == [
        {
            "version": "1.0.0",
            "files": 3,
            "bytes": sum((home.data / name).stat().st_size for name in FILES),
        }
    ]
    assert sorted(f["path"].rsplit("/", 1)[1] for f in plan["files"]) == sorted(FILES)  # type: ignore[index, union-attr]
    assert plan["estimate_secs"] is not None and plan["estimate_secs"] > 0  # type: ignore[operator]
    [change] = plan["contract_changes"]  # type: ignore[misc]
    prices, totals = change["outputs"]
    assert totals == {**totals, "output": "totals", "state": "same", "storage_changed": False}
    assert prices["state"] == "changed"
    assert prices["added"] == [{"name": "note", "type": "string"}]
    assert prices["retyped"] == [{"name": "amount", "from": "int64", "to": "float64"}]
    assert prices["storage_changed"] is True
    assert plan["refused"] is None
    assert text.returncode == 0, text.stderr
    assert "from 1.0.0: 3 files" in text.stdout
    # SCHEMA_MISMATCH's own words for the diff: the old rows against the new contract.
    assert "column 'note' (string) not found" in text.stdout
    assert "expected 'amount' float64, got 'amount' int64" in text.stdout
    assert "add --execute" in text.stdout
    assert pq.read_table(home.settings.output_dir / "prices").equals(before)  # nothing ran


async def test_limit_force_and_an_up_to_date_parser(locked: Fixture) -> None:
    home = await processed_home(locked)

    nothing = cli_json(home, "prices")
    forced = cli_json(home, "prices", "--force", "--limit", "2")
    await register(home, SAME)
    limited = cli_json(home, "prices", "--limit", "1")

    assert nothing["files"] == [] and nothing["up_to_date"] == 3
    assert nothing["refused"] == "there is nothing to backfill"
    assert len(forced["files"]) == 2 and forced["left_by_limit"] == 1  # type: ignore[arg-type]
    assert forced["contract_changes"] == []  # 1.0.0 on 1.0.0
    assert len(limited["files"]) == 1  # type: ignore[arg-type]
    [change] = limited["contract_changes"]  # type: ignore[misc]
    assert [o["state"] for o in change["outputs"]] == ["same", "same"]
    assert limited["refused"] is None  # same columns: a trial on one file may be swapped in


async def test_a_limited_plan_with_changed_columns_cannot_execute(locked: Fixture) -> None:
    home = await processed_home(locked)
    await register(home, WIDER)

    plan = cli_json(home, "prices", "--limit", "1")

    assert "never holds two schemas" in str(plan["refused"])


async def test_an_unknown_parser_is_a_clear_error(locked: Fixture) -> None:
    home = await processed_home(locked)
    async with CoreService(home.settings) as service:
        with pytest.raises(ParserNotRegisteredError):
            await service.backfill.plan("nope")
    done = cli(home, "nope")
    assert done.returncode == 2
    assert "nope" in done.stderr
