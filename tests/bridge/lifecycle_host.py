"""A `casparian run`-like host for the lifecycle tests, run as its own process so a test can end
it the way a user or the system would.

    python lifecycle_host.py HOME PARSER STAGE ENDING

It launches a guest and prints its pid; at STAGE (`starting`: right after the launch; `idle`:
after a job finished; `parsing`: once the parser logged "parsing"; `writing`: once the first
table arrived, which it then never takes) it prints "ready" and ends by ENDING: `wait` (for the
test's signal), `exception` (an uncaught exception: no cleanup of the guest runs), `segfault`,
or `sigkill` (itself).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import traceback
import uuid

from casparian_core.bridge import protocol
from casparian_core.bridge.host import GuestProcess
from casparian_core.config import load_settings


def main() -> None:
    home, parser, stage, ending = sys.argv[1:5]
    # The tests end this host as a terminal or the system would: a parent that ignores SIGHUP
    # or SIGTERM (nohup, some CI runners) would make the ignore ours, and the test wait forever.
    for number in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)
    guest = GuestProcess(load_settings(env={}, home=home), on_log=lambda *line: on_log(*line))
    ready = threading.Event()

    def on_log(job_id: str | None, level: int, text: str) -> None:
        if stage == "parsing" and "parsing" in text:
            ready.set()

    def on_data(output: str, table: object) -> None:
        if stage == "writing":
            ready.set()
            threading.Event().wait()  # never take more: the guest's queue fills up

    def drive() -> None:
        job = protocol.Job(uuid.uuid4().hex, parser, os.devnull, "out", None)
        try:
            guest.run_job(job, on_data)
        except BaseException:  # never "ready": end, so the test reads the end, not a hang
            traceback.print_exc()
            os._exit(3)
        if stage == "idle":
            ready.set()

    guest.launch()
    print(guest.pid, flush=True)
    if stage == "starting":
        ready.set()
    else:
        # A daemon thread: an exception in the main thread ends the host without its cleanup.
        threading.Thread(target=drive, daemon=True).start()
    ready.wait()
    print("ready", flush=True)
    if ending == "exception":
        raise RuntimeError("the host crashed")
    if ending == "segfault":
        ctypes.string_at(0)
    if ending == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Event().wait()


if __name__ == "__main__":
    main()
