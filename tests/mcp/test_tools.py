"""The tools over MCP: generated from the shared Toolbox, answering on real data, refusing bad
arguments and paths outside the sources with a readable tool error, and capped."""

from __future__ import annotations

import os
from pathlib import Path

from casparian_core.ai.tools.all import toolbox
from casparian_core.config import Settings
from casparian_core.scout.queries import FileQuery
from casparian_core.service import CoreService
from casparian_mcp.server import OUTPUT_SCHEMA
from tests.mcp.support import call, error_text, mcp_session, result_of

SPEC_TOOLS = {
    "quick_scan",
    "apply_scope",
    "discover_schemas",
    "approve_schemas",
    "run_backtest",
    "execute_pipeline",
    "query_output",
}


async def test_every_shared_tool_is_served_with_its_own_schema(home: Path, data: Path) -> None:
    async with mcp_session(home) as session:
        listed = (await session.list_tools()).tools

    shared = toolbox().definitions()
    assert [tool.name for tool in listed] == [d["name"] for d in shared]
    assert {tool.name for tool in listed} >= SPEC_TOOLS
    for tool, definition in zip(listed, shared, strict=True):
        assert tool.description == definition["description"]
        assert tool.input_schema == definition["input_schema"]
        assert tool.output_schema == OUTPUT_SCHEMA
    scan = next(tool for tool in listed if tool.name == "quick_scan")
    assert scan.input_schema["required"] == ["path"]
    assert scan.input_schema["additionalProperties"] is False


async def test_quick_scan_counts_a_source_by_extension_and_kind(home: Path, data: Path) -> None:
    (data / "nested").mkdir()
    (data / "nested" / "notes.txt").write_text("hello\n")
    os.symlink("/etc", data / "elsewhere")
    async with mcp_session(home) as session:
        answer = await call(session, "quick_scan", path=str(data))

    scan = result_of(answer)
    assert scan["files"] == 5 and scan["catalogued"] is True
    by_extension = {row["extension"]: row for row in scan["by_extension"]}
    assert by_extension[".log"]["files"] == 4
    assert sorted(by_extension[".log"]["samples"]) == ["apr.log", "feb.log", "jan.log"]
    assert by_extension[".txt"]["samples"] == ["nested/notes.txt"]
    assert scan["by_kind"] == {"text": 5} and scan["skipped"] == {"symlink": 1}
    assert scan["bytes"] == sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    assert answer.structured_content is not None
    assert answer.structured_content["summary"] == "5 files, 2 kinds"


async def test_paths_outside_the_sources_are_refused_saying_what_is_allowed(
    home: Path, data: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    os.symlink(outside, data / "link_out")
    async with mcp_session(home) as session:
        elsewhere = error_text(await call(session, "quick_scan", path=str(outside)))
        dotdot = error_text(await call(session, "quick_scan", path=f"{data}/../private"))
        link = error_text(await call(session, "quick_scan", path=str(data / "link_out")))
        relative = error_text(await call(session, "quick_scan", path="events"))

    assert elsewhere.startswith("Error executing tool quick_scan: ")
    assert "is outside the allowed folders" in elsewhere and str(data) in elsewhere
    assert "contains '..'" in dotdot
    assert f"is a link leading out to {outside}" in link
    assert "is not an absolute path" in relative


async def test_a_scan_root_in_the_config_opens_a_folder_beyond_the_sources(
    home: Path, data: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "landing"
    (extra / "drop").mkdir(parents=True)
    (extra / "drop" / "a.csv").write_text("x\n1\n")
    (home / "config.toml").write_text(f'mcp_scan_roots = ["{extra}"]\n')
    async with mcp_session(home) as session:
        scan = result_of(await call(session, "quick_scan", path=str(extra / "drop")))

    assert scan["files"] == 1 and scan["catalogued"] is False


async def test_bad_arguments_are_a_tool_error_the_client_reads(home: Path, data: Path) -> None:
    async with mcp_session(home) as session:
        too_many = error_text(await call(session, "quick_scan", path=str(data), max_files=0))
        unknown = error_text(await call(session, "quick_scan", path=str(data), depth=2))
        missing = error_text(await call(session, "run_backtest"))
        no_tool = error_text(await call(session, "drop_everything"))

    assert "max_files: Input should be greater than or equal to 1" in too_many
    assert "depth: Extra inputs are not permitted" in unknown
    assert "parser: Field required" in missing
    assert "There is no tool 'drop_everything'" in no_tool


async def test_a_failing_tool_says_why(home: Path, data: Path) -> None:
    async with mcp_session(home) as session:
        written = error_text(await call(session, "query_output", sql="DELETE FROM events"))
        no_parser = error_text(await call(session, "run_backtest", parser="nope"))

    assert written.startswith("Error executing tool query_output: ")
    assert "SELECT" in written
    assert "No parser 'nope' in the home's parsers/ (there are: events)" in no_parser


async def test_discover_schemas_infers_contracts_from_a_tags_files(
    home: Path, data: Path, settings: Settings
) -> None:
    (data / "orders.csv").write_text("order_id,region,amount\n1,NORTH,10.5\n2,SOUTH,7\n")
    async with CoreService(settings) as service:
        source = await service.scout.scan(data, name="events")
        await service.scout.tag_files(FileQuery(source_id=source.source_id, glob="*.csv"), "o")
    async with mcp_session(home) as session:
        found = result_of(await call(session, "discover_schemas", tag="o"))
        logs = result_of(await call(session, "discover_schemas", tag="app_events", samples=2))
        neither = error_text(await call(session, "discover_schemas"))

    [sample] = found["samples"]
    assert sample["path"] == "orders.csv" and sample["rows_read"] == 2
    assert sample["outputs"]["orders"] == {
        "order_id": {"type": "int64", "nullable": True},
        "region": {"type": "string", "nullable": True},
        "amount": {"type": "float64", "nullable": True},
    }
    assert [s["path"] for s in logs["samples"]] == ["apr.log", "feb.log"]
    assert all("only CSV, TSV, PSV and JSON lines" in s["error"] for s in logs["samples"])
    assert "Give either `file_ids` or `tag`" in neither


async def test_query_output_reads_what_a_parser_wrote(home: Path, data: Path) -> None:
    async with mcp_session(home) as session:
        files = result_of(await call(session, "list_files", glob="jan.log"))
        [[file_id, *_]] = files["files"]
        tested = result_of(await call(session, "run_parser_test", parser="events", file_id=file_id))
        rows = result_of(
            await call(session, "query_output", sql="SELECT ts, amount FROM events ORDER BY ts")
        )

    assert tested["status"] == "COMPLETED"
    assert rows == {
        "columns": ["ts string", "amount int64"],
        "rows": [["2026-01-01", 5], ["2026-01-02", 7]],
    }


async def test_run_backtest_runs_failed_files_first_and_reports_each(
    home: Path, data: Path
) -> None:
    async with mcp_session(home) as session:
        first = result_of(await call(session, "run_backtest", parser="events", tag="app_events"))
        second = result_of(await call(session, "run_backtest", parser="events"))

    outcomes = {Path(o["file"]).name: o for o in first["outcomes"]}
    assert first["files_run"] == 4 and first["failed"] == 1 and not first["stopped_early"]
    assert outcomes["jan.log"]["status"] == "COMPLETED" and outcomes["jan.log"]["rows"] == 2
    assert outcomes["feb.log"]["quarantined"] == 1
    assert list(outcomes["feb.log"]["quarantine_reasons"]) == ["events: amount: min"]
    assert "ValueError" in outcomes["mar.log"]["error"]
    assert not (home / "output" / "events").exists()  # a scratch folder, not the outputs
    # A backtest records no test, so "failed before" comes from Parser Bench and dead letters.
    assert [Path(o["file"]).name for o in second["outcomes"]] == [
        "apr.log",
        "feb.log",
        "jan.log",
        "mar.log",
    ]


async def test_run_backtest_stops_once_the_failure_rate_passes_the_threshold(
    home: Path, data: Path, settings: Settings
) -> None:
    for index in range(8):
        (data / f"broken{index}.log").write_text("2026-05-01,bad\n")

    async with CoreService(settings) as service:
        source = await service.scout.scan(data, name="events")
        await service.scout.tag_files(FileQuery(source_id=source.source_id), "app_events")
    async with mcp_session(home) as session:
        run = result_of(
            await call(session, "run_backtest", parser="events", stop_at_failure_rate=0.5)
        )

    assert run["files_planned"] == 12 and run["stopped_early"] is True
    # In path order: apr.log passes, broken0-3 fail: 4 of 5 (80%) is past 50% after five.
    assert run["files_run"] == 5 and run["failed"] == 4
    assert "stopped: more than 50% of the files failed" in run["note"]


async def test_an_over_large_result_is_cut_to_whole_rows_saying_so(home: Path, data: Path) -> None:
    sql = "SELECT i, repeat('x', 1000) AS big FROM range(400) t(i)"
    async with mcp_session(home) as session:
        answer = await call(session, "query_output", sql=sql, limit=200)
        few = result_of(await call(session, "query_output", sql=sql, limit=3))

    rows = result_of(answer)
    assert len(answer.content[0].text.encode()) <= 16 * 1024  # type: ignore[union-attr]
    assert 0 < len(rows["rows"]) < 20 and rows["rows"][0] == [0, "x" * 1000]
    assert (
        rows["note"] == f"only the first {len(rows['rows'])} rows fit; select fewer columns or rows"
    )
    assert few["columns"] == ["i int64", "big string"]
    assert few["note"] == "only the first 3 rows are shown; more matched"
