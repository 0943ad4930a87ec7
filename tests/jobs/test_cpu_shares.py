"""How a process pool shares the CPUs among its workers (jobs/cpu_shares.py)."""

from __future__ import annotations

import os
import threading

import pytest

from casparian_core.jobs.cpu_shares import cpu_shares, placed


def test_shares_are_disjoint_neighbours_and_as_even_as_may_be() -> None:
    assert cpu_shares(range(8), 2) == [frozenset(range(4)), frozenset(range(4, 8))]
    assert cpu_shares([0, 1, 2, 5, 6], 2) == [frozenset({0, 1, 2}), frozenset({5, 6})]
    assert cpu_shares([3], 1) == [frozenset({3})]


def test_more_workers_than_cpus_take_one_cpu_each_in_turn() -> None:
    assert cpu_shares([0, 1], 3) == [frozenset({0}), frozenset({1}), frozenset({0})]
    assert cpu_shares([0, 1], 2) == [frozenset({0}), frozenset({1})]


def placement() -> tuple[set[int], int]:
    return os.sched_getaffinity(0), os.sched_getscheduler(0)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
def test_placed_holds_the_thread_on_its_cpus_as_batch_work_then_lets_it_go() -> None:
    everywhere, policy = placement()
    one = frozenset({min(everywhere)})
    seen: dict[str, tuple[set[int], int]] = {}

    def work() -> None:
        with placed(one):
            seen["inside"] = placement()
            started = threading.Thread(target=lambda: seen.update(child=placement()))
            started.start()
            started.join()
        seen["after"] = placement()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()

    batch = (set(one), os.SCHED_BATCH)
    assert seen == {"inside": batch, "child": batch, "after": (everywhere, policy)}
    assert placement() == (everywhere, policy)  # other threads were never placed


def test_placed_without_cpus_is_batch_work_anywhere() -> None:
    everywhere, _ = placement()
    seen: dict[str, tuple[set[int], int]] = {}

    def work() -> None:
        with placed(None):
            seen["inside"] = placement()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()

    assert seen == {"inside": (everywhere, os.SCHED_BATCH)}
