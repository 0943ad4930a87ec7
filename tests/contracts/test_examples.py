"""The shipped example parsers, run in-process on the shipped samples and validated against
their own contracts: the numbers of valid and quarantined rows, and why rows were quarantined.
(The bridge tests run the same parsers through a real guest.)"""

from __future__ import annotations

import importlib.util
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pytest

from casparian_core.bridge.context import ParserContext
from casparian_core.bridge.convert import safe_to_arrow
from casparian_core.contracts.model import OutputSpec, parse_outputs
from casparian_core.contracts.validate import validate_batch

REPO = Path(__file__).resolve().parents[2]


def load_parser(file_name: str) -> ModuleType:
    path = REPO / "parsers" / file_name
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parser_class(module: ModuleType) -> type | None:
    classes = [value for value in vars(module).values() if isinstance(value, type)]
    return next((cls for cls in classes if cls.__module__ == module.__name__), None)


def batches(module: ModuleType, sample: Path) -> Iterator[tuple[str, pa.Table]]:
    """(output, table) pairs as the guest shim would send them."""
    cls = parser_class(module)
    if cls is None:  # Level 1: def parse(path), one output
        [output] = module.outputs
        for data in module.parse(str(sample)):
            yield output, safe_to_arrow(data)
    else:
        context = ParserContext(str(sample), logging.getLogger("example"), "job-test")
        for output, data in cls().parse(context):
            yield output, safe_to_arrow(data)


def contracts(module: ModuleType) -> dict[str, OutputSpec]:
    owner = parser_class(module) or module
    return parse_outputs(owner.outputs, str(module.__file__))


def run_example(file_name: str, samples: str) -> tuple[int, Counter[str], list[dict[str, object]]]:
    module = load_parser(file_name)
    specs = contracts(module)
    valid_rows, reasons, quarantined = 0, Counter[str](), []
    for sample in sorted(REPO.glob(f"examples/{samples}")):
        offset = 0
        for output, table in batches(module, sample):
            result = validate_batch(table, specs[output], row_offset=offset)
            offset += table.num_rows
            valid_rows += result.valid.num_rows
            reasons += result.reasons
            quarantined += result.quarantined.to_pylist()
            assert result.valid.schema == specs[output].arrow_schema()
    return valid_rows, reasons, quarantined


def test_sales_csv_quarantines_the_bad_orders() -> None:
    valid, reasons, quarantined = run_example("sales_csv.py", "sales/*.csv")

    assert valid == 78 + 116 + 59
    assert reasons == {
        "amount: min": 1,
        "region: allowed": 1,
        "order_date: format": 2,  # 2026-13-45 and 2026-09-31
        "customer: not_null": 1,
        "sku: pattern": 1,
        "quantity: type": 1,
    }
    by_rule = {row["rule"]: row for row in quarantined}
    assert by_rule["min"]["reason"] == "value -12.50 is below min 0"
    assert by_rule["type"]["reason"] == "'two' is not a valid int32"
    assert by_rule["min"]["row_index"] == 10


def test_auth_log_flags_lines_that_are_not_syslog() -> None:
    valid, reasons, quarantined = run_example("auth_log.py", "auth/auth.log")

    assert valid == 56
    assert reasons == {"parser: not a syslog line": 3, "msg: max_length": 1}
    flagged = [row["row_index"] for row in quarantined if row["rule"] == "parser"]
    assert flagged == [8, 21, 34]  # line numbers in the file, from _cf_source_row


def test_fixed_width_cuts_records_and_flags_short_ones() -> None:
    valid, reasons, quarantined = run_example("fixed_width.py", "fixed_width/*.txt")

    assert valid == 37 + 28
    assert reasons == {
        "parser: record is 22 characters long, expected 51": 1,
        "status: allowed": 1,
        "opened: format": 1,
        "balance: type": 1,
        "holder: not_null": 1,
    }
    assert {row["row_index"] for row in quarantined if row["rule"] == "parser"} == {10}


def test_events_jsonl_streams_and_quarantines_bad_events() -> None:
    valid, reasons, _ = run_example("events_jsonl.py", "jsonl/*.jsonl")

    assert valid == 143 + 79
    assert reasons == {
        "parser: not JSON: Expecting property name enclosed in double quotes": 1,
        "parser: not a JSON object but list": 1,
        "event: allowed": 1,
        "duration_ms: type": 1,
        "duration_ms: min": 1,
        "user: not_null": 1,
        "ts: type": 1,
        "amount: min": 1,
    }


@pytest.mark.parametrize(
    "file_name", ["sales_csv.py", "auth_log.py", "fixed_width.py", "events_jsonl.py"]
)
def test_example_parsers_do_not_import_casparian(file_name: str) -> None:
    source = (REPO / "parsers" / file_name).read_text()

    assert "casparian" not in source
