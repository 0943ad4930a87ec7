"""The one execution engine: dev runs (`casparian run`), Parser Bench tests and, later, prod jobs
all run parsers through a `session.ParserSession` — the same bridge, validation and sinks.

session.ParserSession   one parser version, one warm guest, one sink; inputs submitted in turn
input_run.InputRun      one input: its job, its outputs' writers, its atomic commit
output_writer           one output of one input: validate -> lineage -> part, quarantine, preview
run.run_parser          the batch form over a session (`casparian run`)
"""
