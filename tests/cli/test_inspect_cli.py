"""`casparian tables`, `query` and `quarantine list|show` as a user runs them: real processes
on a home whose output/ holds what the example sales parser wrote (with its quarantine)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cli.support import casparian, make_home, one_sentence

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = make_home(tmp_path_factory.mktemp("inspect") / "home")
    ran = casparian(
        "run",
        str(REPO / "parsers" / "sales_csv.py"),
        str(REPO / "examples" / "sales"),
        "--sink",
        f"parquet://{home / 'output'}",
        home=home,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return home


def test_tables_lists_each_output_with_its_rows_producer_and_quarantine(home: Path) -> None:
    listed = casparian("tables", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    tables = {t["name"]: t for t in json.loads(listed.stdout)["tables"]}
    sales, quarantine = tables["sales"], tables["sales_quarantine"]
    assert sales["rows"] > 0 and sales["producers"] == ["sales_csv@1.0.0"]
    assert sales["quarantine_table"] == "sales_quarantine"
    assert sales["quarantined_rows"] == quarantine["rows"] > 0
    assert sales["sink"] == "parquet" and not sales["broken_parts"]

    text = casparian("tables", home=home).stdout
    assert f"sales  {sales['rows']} rows in" in text and "by sales_csv@1.0.0" in text


def test_query_prints_a_table_csv_and_json_and_says_when_rows_were_cut(home: Path) -> None:
    sql = "SELECT region, count(*) AS n FROM sales GROUP BY region ORDER BY region"
    as_json = json.loads(casparian("query", sql, "--format", "json", home=home).stdout)
    assert as_json["columns"] == ["region", "n"] and not as_json["truncated"]
    counts = {row["region"]: row["n"] for row in as_json["rows"]}
    assert set(counts) == {"EAST", "NORTH", "SOUTH", "WEST"}

    as_csv = casparian("query", sql, "--format", "csv", home=home).stdout
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert {row["region"]: int(row["n"]) for row in rows} == counts

    table = casparian("query", sql, home=home)
    assert table.stdout.splitlines()[0].split() == ["region", "n"]
    assert "(4 rows," in table.stdout and table.stderr == ""

    cut = casparian("query", "SELECT * FROM sales", "--limit", "2", home=home)
    assert cut.returncode == 0 and "(2 rows," in cut.stdout
    assert "only the first 2 rows shown; more matched" in cut.stderr


def test_query_writes_every_row_to_a_parquet_file(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "sales.parquet"
    wrote = casparian(
        "query", "SELECT * FROM sales", "--format", "parquet", "--output", str(target), home=home
    )
    assert wrote.returncode == 0, wrote.stderr
    total = json.loads(
        casparian("query", "SELECT count(*) AS n FROM sales", "--format", "json", home=home).stdout
    )["rows"][0]["n"]
    assert pq.read_table(target).num_rows == total and f"Wrote {total} rows" in wrote.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("DROP VIEW sales",), "Only SELECT runs here"),
        (("COPY (SELECT 1) TO '/tmp/x.csv'",), "Only SELECT runs here"),
        (("SELECT * FROM read_csv('/etc/passwd')",), "The query failed"),
        (("SELECT * FROM no_such_table",), "The query failed"),
        (("SELECT 1", "--format", "parquet"), "add --output FILE"),
        (("SELECT 1", "--output", "x.json", "--format", "json"), "--output writes CSV or Parquet"),
    ],
)
def test_query_refuses_what_it_cannot_do_in_one_sentence(
    home: Path, args: tuple[str, ...], needle: str
) -> None:
    one_sentence(casparian("query", *args, home=home), needle)


def test_an_export_to_a_folder_that_cannot_be_written_leaves_no_file(
    home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "out.csv"
    failed = casparian(
        "query", "SELECT * FROM sales", "--format", "csv", "--output", str(target), home=home
    )
    one_sentence(failed, "Could not write", "choose a folder you can write to")
    assert not target.parent.exists()


def test_quarantine_lists_why_each_row_was_refused_and_shows_one_row_whole(home: Path) -> None:
    listed = json.loads(casparian("quarantine", "list", "--json", home=home).stdout)
    assert listed["total"] == len(listed["entries"]) > 0
    entry = listed["entries"][0]
    assert entry["output"] == "sales" and entry["parser"] == "sales_csv@1.0.0"
    assert entry["reason"] and entry["source_file"].endswith(".csv")

    only_job = json.loads(
        casparian("quarantine", "list", "--job", entry["job_id"], "--json", home=home).stdout
    )
    assert {e["job_id"] for e in only_job["entries"]} == {entry["job_id"]}
    none = casparian("quarantine", "list", "--parser", "nobody", home=home)
    assert none.returncode == 0 and "No quarantined rows match." in none.stdout

    shown = json.loads(casparian("quarantine", "show", entry["id"], "--json", home=home).stdout)
    assert shown["entry"]["id"] == entry["id"] and "order_id" in shown["values"]
    text = casparian("quarantine", "show", entry["id"], home=home).stdout
    assert entry["reason"] in text and "order_id" in text

    one_sentence(casparian("quarantine", "show", "sales:nope:1", home=home), "sales:nope:1")
