"""The one execution engine: dev runs (`casparian run`), Parser Bench tests and, later, prod jobs
all run parsers through `run.run_parser` — the same bridge, validation and sinks."""
