"""A Dask job's row names its worker as far as it fits whole, never cutting the file's name."""

from __future__ import annotations

from casparian_tui.widgets.jobs_rows import _with_worker


def test_a_jobs_row_shows_the_worker_whole_then_its_host_then_nothing() -> None:
    worker = "tcp://10.0.0.5:40331"

    assert _with_worker("a.csv", worker, 40) == "a.csv · 10.0.0.5:40331"
    assert _with_worker("orders-01.csv", worker, 28) == "orders-01.csv · 10.0.0.5"
    assert _with_worker("a-long-file-name.csv", worker, 24) == "a-long-file-name.csv"
