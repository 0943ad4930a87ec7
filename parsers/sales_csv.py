"""Sales exports (CSV with a header) from the regional shops.

Every column is read as text: the contract below decides what a valid order is, and rows that
break it (a negative amount, an unknown region, a date that is not a date, a missing customer)
go to quarantine with the reason instead of stopping the run. The file is read in blocks, so
exports of any size stream through in bounded memory.
"""

from typing import ClassVar

import pyarrow as pa
import pyarrow.csv as pacsv

COLUMNS = ["order_id", "order_date", "region", "customer", "sku", "quantity", "amount"]
BLOCK_BYTES = 1 << 20


class SalesCsv:
    name = "sales_csv"
    version = "1.0.0"
    topics: ClassVar[list[str]] = ["sales"]
    outputs: ClassVar[dict] = {
        "sales": {
            "order_id": {"type": "int64", "nullable": False, "min": 1},
            "order_date": {"type": "date", "nullable": False, "format": "%Y-%m-%d"},
            "region": {
                "type": "string",
                "nullable": False,
                "allowed": ["NORTH", "SOUTH", "EAST", "WEST"],
            },
            "customer": {"type": "string", "nullable": False, "max_length": 64},
            "sku": {"type": "string", "nullable": False, "pattern": "^[A-Z]{3}-[0-9]{4}$"},
            "quantity": {"type": "int32", "nullable": False, "min": 1},
            "amount": {"type": "decimal(12,2)", "nullable": False, "min": 0},
            "_max_quarantine_pct": 10,
        }
    }

    def parse(self, ctx):
        reader = pacsv.open_csv(
            ctx.path,
            read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
            convert_options=pacsv.ConvertOptions(
                column_types={column: pa.string() for column in COLUMNS},
                include_columns=COLUMNS,
                strings_can_be_null=True,  # an empty field is a missing value, not ""
            ),
        )
        rows = 0
        for batch in reader:
            rows += batch.num_rows
            yield "sales", batch
        ctx.logger.info("read %d orders from %s", rows, ctx.path)
