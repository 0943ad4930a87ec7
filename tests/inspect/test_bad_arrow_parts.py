"""Arrow IPC folder sinks with a truncated or corrupt `.arrow` part, in an output and in its
quarantine folder (issue 17's bad input, as the Parquet ones are tested in test_facade.py):
`tables` and the Inspect screen name each unreadable part and count the rest, `query` and
`quarantine list` read the rest, replay leaves the unreadable quarantine part out saying so
and replays the others, and settling an input whose part cannot be read leaves its entries
as they were. Nothing is lost: the broken files are left byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import OptionList, Static

from casparian_core.api import QuarantineState
from casparian_core.config import Settings
from casparian_core.engine.inputs import part_key
from casparian_core.home import prepare_home
from casparian_core.inspect.errors import QuarantineUnreadableError
from casparian_core.inspect.quarantine_parts import store_for
from casparian_core.service import CoreService
from casparian_tui.screens.inspect import InspectScreen
from tests.cli.support import casparian, make_home
from tests.inspect.replay_support import FIXED, prepare, register
from tests.inspect.sinks_support import rejected, sales, write_parts
from tests.inspect.test_replay_sinks import process_into
from tests.registry.test_envs import Fixture, locked
from tests.tui.conftest import TERMINAL, make_app, settle

__all__ = ["locked"]  # the fixture, used by name

JOB_A, JOB_B, JOB_C = "a1" * 16, "b2" * 16, "c3" * 16


def truncate(path: Path) -> bytes:
    """Cut the file in half (a copy that stopped midway); its bytes now."""
    data = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(data)
    return data


def run_json(home: Path, *args: str) -> dict[str, object]:
    done = casparian(*args, home=home)
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout)
    return found


def test_tables_query_and_quarantine_list_name_the_broken_parts_and_read_the_rest(
    tmp_path: Path,
) -> None:
    home = make_home(tmp_path / "home")
    out = home / "output"
    uri = f"arrow://{out}"
    write_parts(uri, {"ticks": sales(5, JOB_A), "ticks_quarantine": rejected(2, JOB_A)}, "a.csv")
    write_parts(uri, {"ticks": sales(3, JOB_B, start=5)}, "b.csv")
    write_parts(uri, {"ticks_quarantine": rejected(4, JOB_C)}, "c.csv")
    cut = truncate(out / "ticks" / "part-b.csv.arrow")
    garbage = b"ARROW1\x00\x00 not a file at all"
    (out / "ticks_quarantine" / "part-c.csv.arrow").write_bytes(garbage)

    tables = {t["name"]: t for t in run_json(home, "tables", "--json")["tables"]}  # type: ignore[attr-defined]
    text = casparian("tables", home=home).stdout
    query = run_json(home, "query", "SELECT count(*) AS n FROM ticks", "--format", "json")
    listed = run_json(home, "quarantine", "list", "--json")

    ticks, quarantine = tables["ticks"], tables["ticks_quarantine"]
    assert (ticks["sink"], ticks["rows"], ticks["parts"]) == ("arrow", 5, 1)
    assert [Path(b["path"]).name for b in ticks["broken_parts"]] == ["part-b.csv.arrow"]
    assert "not readable as Arrow IPC" in ticks["broken_parts"][0]["reason"]
    assert (quarantine["rows"], quarantine["parts"]) == (2, 1)
    assert [Path(b["path"]).name for b in quarantine["broken_parts"]] == ["part-c.csv.arrow"]
    assert "unreadable part" in text and "part-b.csv.arrow" in text and "part-c.csv.arrow" in text
    assert query["rows"] == [{"n": 5}]
    assert listed["total"] == 2
    assert {e["job_id"] for e in listed["entries"]} == {JOB_A}  # type: ignore[attr-defined]
    assert (out / "ticks" / "part-b.csv.arrow").read_bytes() == cut  # left as it was
    assert (out / "ticks_quarantine" / "part-c.csv.arrow").read_bytes() == garbage


async def test_replay_leaves_an_unreadable_quarantine_part_out_saying_so(
    locked: Fixture,
) -> None:
    home = await prepare(locked)
    feed = home.settings.home / "sinks" / "feed"
    await process_into(home, f"arrow://{feed}")  # 1.0.0: a.csv 2 entries, c.csv 1
    await register(home, FIXED)
    broken = feed / "prices_quarantine" / f"part-{part_key('shop/a.csv')}.arrow"
    cut = truncate(broken)

    async with CoreService(home.settings) as service:
        tables = {t.name: t for t in await service.inspect.tables()}
        plan = await service.replay.plan()
        outcome = await service.replay.run(plan, offline=True)
        resolved = await service.inspect.quarantine(state=QuarantineState.RESOLVED)

    assert [Path(b.path).name for b in tables["prices_quarantine"].broken_parts] == [broken.name]
    assert [Path(f.path).name for f in plan.files] == ["c.csv"]
    assert [Path(u.split(" (")[0]) for u in plan.unreadable] == [broken]
    assert "1 quarantine part left out: cannot be read" in plan.effect
    assert (outcome.resolved, outcome.still_quarantined, outcome.failed) == (1, 0, [])
    assert [Path(e.source_file or "").name for e in resolved.entries] == ["c.csv"]
    assert broken.read_bytes() == cut  # its rows are neither replayed nor lost


def test_settling_an_input_whose_part_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    uri = f"arrow://{out}"
    write_parts(uri, {"ticks": sales(5, JOB_A), "ticks_quarantine": rejected(2, JOB_A)}, "a.csv")
    truncate(out / "ticks_quarantine" / "part-a.csv.arrow")

    with pytest.raises(QuarantineUnreadableError, match=r"part-a\.csv\.arrow cannot be read"):
        store_for(uri).state("ticks", "a.csv")  # settle() leaves it pending on this error


async def test_inspect_lists_the_table_with_its_broken_arrow_part_named(settings: Settings) -> None:
    prepare_home(settings)
    uri = f"arrow://{settings.output_dir}"
    write_parts(uri, {"ticks": sales(5, JOB_A)}, "a.csv")
    write_parts(uri, {"ticks": sales(3, JOB_B, start=5)}, "b.csv")
    truncate(settings.output_dir / "ticks" / "part-b.csv.arrow")

    app = make_app(settings)
    async with app.run_test(size=TERMINAL) as pilot:
        await settle(pilot)
        await pilot.press("alt+i")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        options = screen.query_one("#table-list", OptionList)
        label = str(options.get_option_at_index(0).prompt)
        await pilot.press("j")
        await settle(pilot)
        title = str(screen.query_one("#table-title", Static).content)

    assert label.split() == ["ticks", "5", "✗", "1"]
    assert "part-b.csv.arrow left out: not readable as Arrow IPC" in title
