"""`casparian run` records where it wrote in the home's database, for every sink, so `casparian
tables` (and Inspect, quarantine list and replay) see its outputs; a dev run without a home
creates none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.support import casparian, make_home

REPO = Path(__file__).resolve().parents[2]
PARSER = REPO / "parsers" / "sales_csv.py"
SALES = REPO / "examples" / "sales"


def run_into(home: Path, sink: str, cwd: Path) -> None:
    ran = casparian("run", str(PARSER), str(SALES), "--sink", sink, home=home, cwd=cwd)
    assert ran.returncode == 0, ran.stdout + ran.stderr


@pytest.mark.parametrize(
    ("sink", "kind"),
    [
        ("sqlite:///warehouse.db", "sqlite"),
        ("duckdb:///warehouse.duckdb", "duckdb"),
        ("arrow://arrow_out", "arrow"),
        ("parquet://parquet_out", "parquet"),
    ],
)
def test_tables_lists_what_a_dev_run_wrote_to_any_sink(
    tmp_path: Path, sink: str, kind: str
) -> None:
    home = make_home(tmp_path / "home")
    work = tmp_path / "work"
    work.mkdir()
    run_into(home, sink, work)

    listed = casparian("tables", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    tables = {t["name"]: t for t in json.loads(listed.stdout)["tables"]}
    sales, quarantine = tables["sales"], tables["sales_quarantine"]
    assert sales["sink"] == kind and not sales["broken_parts"]
    assert sales["rows"] > 0 and sales["quarantined_rows"] == quarantine["rows"] > 0
    assert sales["producers"] == ["sales_csv@1.0.0"]
    assert str(work) in sales["location"]
    listed_rows = casparian("quarantine", "list", "--json", home=home)
    assert json.loads(listed_rows.stdout)["total"] == quarantine["rows"]


def test_a_dev_run_without_a_home_creates_none(tmp_path: Path) -> None:
    home = tmp_path / "no_home"
    run_into(home, "sqlite:///warehouse.db", tmp_path)

    assert (tmp_path / "warehouse.db").is_file()
    assert not home.exists()
