"""What a run would do, without running anything (`casparian run --whatif`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from casparian_core.engine.inputs import hash_file, input_keys, part_key
from casparian_core.engine.results import RunOptions
from casparian_core.engine.session import check_venv
from casparian_core.parsers.metadata import ParserInfo, read_parser_info
from casparian_core.sinks import PartInfo, open_sink


@dataclass(frozen=True)
class PlannedInput:
    path: Path
    size: int
    exists: bool  # every declared output holds this input's part of this content and version


@dataclass(frozen=True)
class RunPlan:
    info: ParserInfo
    sink_uri: str
    targets: dict[str, str]  # output -> where it would be written ({} when only known at run)
    inputs: list[PlannedInput]
    python: str  # the interpreter the guest would use


def plan_run(
    parser_path: Path, inputs: list[Path], options: RunOptions, input_root: Path | None = None
) -> RunPlan:
    """Read the parser's metadata and check the inputs against the sink; raises the errors a
    run would report (ParserLoadError, ContractError, SinkError, VenvError)."""
    from casparian_core.bridge.host import guest_python

    info = read_parser_info(parser_path)
    check_venv(options.venv)
    sink = open_sink(options.sink_uri)
    declared = info.declared_outputs
    planned = []
    for path, input_key in zip(inputs, input_keys(inputs, input_root), strict=True):
        done = PartInfo(input_key, hash_file(path), info.version)
        key = part_key(input_key)
        exists = bool(declared) and all(sink.committed(name, key) == done for name in declared)
        planned.append(PlannedInput(path, path.stat().st_size, exists and not options.force))
    targets = {name: sink.location(name) for name in declared}
    return RunPlan(info, sink.uri, targets, planned, guest_python(options.venv))
