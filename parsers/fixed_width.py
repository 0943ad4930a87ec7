"""Account master exports from the core banking system: fixed-width text, one record per line.

    HDR ACCOUNTS 20261101
    0000012345JANE DOE            1500.25  20190312A
    TRL 000002

Columns are cut out with vectorized string slicing (no per-line Python), header and trailer
records are skipped, and a record of the wrong length is flagged with `_cf_row_error`.
"""

from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

# (column, first character, width), as in the export's record layout document.
LAYOUT = [
    ("account_id", 0, 10),
    ("holder", 10, 20),
    ("balance", 30, 12),
    ("opened", 42, 8),
    ("status", 50, 1),
]
RECORD_WIDTH = 51
CHUNK_BYTES = 1 << 20


class AccountsFixedWidth:
    name = "fixed_width_accounts"
    version = "1.0.0"
    topics: ClassVar[list[str]] = ["fixed_width"]
    outputs: ClassVar[dict] = {
        "accounts": {
            "account_id": {"type": "string", "nullable": False, "pattern": "^[0-9]{10}$"},
            "holder": {"type": "string", "nullable": False, "max_length": 20},
            "balance": {"type": "decimal(14,2)", "nullable": False},
            "opened": {"type": "date", "nullable": False, "format": "%Y%m%d"},
            "status": {"type": "string", "nullable": False, "allowed": ["A", "C", "S"]},
        }
    }

    def parse(self, ctx):
        first_line = 1
        with open(ctx.path, encoding="latin-1") as source:
            while lines := source.readlines(CHUNK_BYTES):
                yield "accounts", _records(lines, first_line)
                first_line += len(lines)


def _records(lines, first_line):
    text = pa.array([line.rstrip("\r\n") for line in lines], pa.string())
    numbers = pa.array(range(first_line, first_line + len(lines)), pa.int64())
    is_record = pc.invert(pc.or_(pc.starts_with(text, "HDR"), pc.starts_with(text, "TRL")))
    text, numbers = text.filter(is_record), numbers.filter(is_record)
    width = pc.utf8_length(text)
    columns = {
        column: _blank_as_null(
            pc.utf8_trim_whitespace(pc.utf8_slice_codeunits(text, start, start + size))
        )
        for column, start, size in LAYOUT
    }
    wrong_width = pc.not_equal(width, RECORD_WIDTH)
    message = pc.binary_join_element_wise(
        "record is ", width.cast(pa.string()), f" characters long, expected {RECORD_WIDTH}", ""
    )
    columns["_cf_row_error"] = pc.if_else(wrong_width, message, pa.scalar(None, pa.string()))
    columns["_cf_source_row"] = numbers
    return pa.table(columns)


def _blank_as_null(values):
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
