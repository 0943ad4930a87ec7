"""run_parser: one parser over a list of inputs, through one `ParserSession`.

The batch form of the engine, for `casparian run` and tests: it opens the sink, submits every
input to a session in order and collects the results. Everything else (the pipelining, the
atomic commits, the retries) is the session's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from casparian_core.config import Settings
from casparian_core.engine.inputs import input_keys
from casparian_core.engine.results import InputItem, RunOptions, RunResult, SessionLogCallback
from casparian_core.engine.session import ParserSession, check_venv
from casparian_core.sinks import open_sink

ResultCallback = Callable[[RunResult], None]


def run_parser(
    parser_path: Path,
    inputs: Sequence[Path],
    settings: Settings,
    options: RunOptions,
    *,
    input_root: Path | None = None,
    on_log: SessionLogCallback | None = None,
    on_result: ResultCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[RunResult]:
    """Run the parser at `parser_path` on each input, in order, with one guest for all of them.

    Each input is known in the outputs by its path relative to `input_root` (by default the
    folder holding all the inputs; see `input_keys`). Returns one RunResult per input that was
    attempted (a cancelled run stops early); each is also passed to `on_result`, in input
    order, as soon as it is final (its commit done). `on_log(job_id, level, text)` receives
    the parser's log lines (and, when stdio is piped, its prints), possibly from another
    thread. Raises a CasparianError only for problems with the options (a bad sink URI or
    --venv).
    """
    check_venv(options.venv)
    sink = open_sink(options.sink_uri)
    session = ParserSession(
        Path(parser_path),
        settings,
        sink,
        venv=options.venv,
        inherit_stdio=options.inherit_stdio,
        force=options.force,
        preview_rows=options.preview_rows,
        on_log=on_log,
        cancel=cancel,
    )
    results: list[RunResult] = []

    def collect(wait: bool) -> None:
        for result in session.results(wait):
            results.append(result)
            if on_result is not None:
                on_result(result)

    with session:
        for path, key in zip(inputs, input_keys(inputs, input_root), strict=True):
            if cancel is not None and cancel.is_set():
                break
            session.submit(InputItem(Path(path), key))
            collect(wait=False)
        collect(wait=True)
    return results
