"""Pictures of the Jobs screen on a real queue (tests.tui.jobs_support): the runs list,
an expanded run with a failed job's trace and log tail, each filter, the dead letters, the cancel
confirmation, the tag picker, and the list at 80 columns (the empty screen is in
test_snapshots_shell). The clock is frozen, so durations of running work read the same in every
run."""

from __future__ import annotations

import pytest

from casparian_core.config import Settings
from tests.tui.conftest import TERMINAL, make_app
from tests.tui.jobs_support import after_keys, open_jobs, seed_queue

NARROW = (80, 24)


def test_runs_list(snap_compare, settings: Settings) -> None:
    seed_queue(settings)
    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=open_jobs)


def test_expanded_run_with_a_failed_jobs_trace_and_log(snap_compare, settings: Settings) -> None:
    seed_queue(settings)
    app = make_app(settings)
    assert snap_compare(app, terminal_size=TERMINAL, run_before=after_keys("down", "enter"))


def test_running_jobs_detail(snap_compare, settings: Settings) -> None:
    seed_queue(settings)
    app = make_app(settings)
    keys = ("down", "down", "enter")  # the auth_log run: its running job comes first
    assert snap_compare(app, terminal_size=TERMINAL, run_before=after_keys(*keys))


@pytest.mark.parametrize("key", ["2", "3", "4"])
def test_filter(snap_compare, settings: Settings, key: str) -> None:
    seed_queue(settings)
    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=after_keys(key))


def test_dead_letters(snap_compare, settings: Settings) -> None:
    seed_queue(settings)
    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=after_keys("d"))


def test_cancel_confirm(snap_compare, settings: Settings) -> None:
    seed_queue(settings)
    keys = ("down", "down", "c")  # the auth_log run, under way
    assert snap_compare(make_app(settings), terminal_size=TERMINAL, run_before=after_keys(*keys))


def test_expanded_at_80_columns(snap_compare, settings: Settings) -> None:
    seed_queue(settings)
    app = make_app(settings)
    assert snap_compare(app, terminal_size=NARROW, run_before=after_keys("down", "enter"))


def test_tag_picker(snap_compare, seeded_settings: Settings) -> None:
    """p: the tags of the home's files, to process one's files (seeded_settings tags 94 files
    `sales`)."""
    seed_queue(seeded_settings)
    app = make_app(seeded_settings)
    assert snap_compare(app, terminal_size=TERMINAL, run_before=after_keys("p"))
