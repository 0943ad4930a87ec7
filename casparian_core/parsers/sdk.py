"""What a parser sees. Parsers never import casparian: this module documents their side.

Level 1 — a module with a function::

    def parse(path):            # path: str, the input file
        ...                     # return or yield pyarrow Tables/RecordBatches, pandas or polars
                                # DataFrames, or lists of dicts; yield chunks to stream big files

Level 2 — a class with literal metadata and a method that yields `(output_name, data)` pairs::

    class AuthLog:
        name = "auth_log"
        version = "1.0.0"
        topics = ["linux_auth"]
        outputs = {"auth_events": {"ts": {"type": "timestamp[us]", "nullable": False}, ...}}

        def parse(self, ctx):   # ctx: ParserContext
            ctx.logger.info("reading %s", ctx.path)
            yield "auth_events", table

A string column `_cf_row_error` flags rows the parser knows are bad (they go to quarantine with
that text as the reason) and an integer `_cf_source_row` gives their line in the input. `print`
and `logging` output reaches the terminal in `casparian run` and the job log otherwise;
`breakpoint()` works in `casparian run`.
"""

from casparian_core.bridge.context import ParserContext

__all__ = ["ParserContext"]
