"""What a run would do, without running anything (`casparian run --whatif`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from casparian_core.engine.inputs import hash_file, part_key
from casparian_core.engine.results import RunOptions
from casparian_core.engine.session import check_venv
from casparian_core.parsers.metadata import ParserInfo, read_parser_info
from casparian_core.sinks import open_sink


@dataclass(frozen=True)
class PlannedInput:
    path: Path
    size: int
    exists: bool  # every declared output already has this input's part: it would be skipped


@dataclass(frozen=True)
class RunPlan:
    info: ParserInfo
    sink_uri: str
    targets: dict[str, str]  # output -> where it would be written ({} when only known at run)
    inputs: list[PlannedInput]
    python: str  # the interpreter the guest would use


def plan_run(parser_path: Path, inputs: list[Path], options: RunOptions) -> RunPlan:
    """Read the parser's metadata and check the inputs against the sink; raises the errors a
    run would report (ParserLoadError, ContractError, SinkError, VenvError)."""
    from casparian_core.bridge.host import guest_python

    info = read_parser_info(parser_path)
    check_venv(options.venv)
    sink = open_sink(options.sink_uri)
    declared = info.declared_outputs
    planned = []
    for path in inputs:
        key = part_key(hash_file(path), info.version)
        exists = bool(declared) and all(sink.has_part(name, key) for name in declared)
        planned.append(PlannedInput(path, path.stat().st_size, exists and not options.force))
    targets = {name: sink.location(name) for name in declared}
    return RunPlan(info, sink.uri, targets, planned, guest_python(options.venv))
