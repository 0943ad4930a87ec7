"""How a process pool shares the CPUs among its workers (jobs/cpu_shares.py)."""

from __future__ import annotations

import os
import threading

import pytest

from casparian_core.jobs.cpu_shares import cpu_shares, pinned


def test_shares_are_disjoint_neighbours_and_as_even_as_may_be() -> None:
    assert cpu_shares(range(8), 2) == [frozenset(range(4)), frozenset(range(4, 8))]
    assert cpu_shares([0, 1, 2, 5, 6], 2) == [frozenset({0, 1, 2}), frozenset({5, 6})]
    assert cpu_shares([3], 1) == [frozenset({3})]


def test_more_workers_than_cpus_take_one_cpu_each_in_turn() -> None:
    assert cpu_shares([0, 1], 3) == [frozenset({0}), frozenset({1}), frozenset({0})]
    assert cpu_shares([0, 1], 2) == [frozenset({0}), frozenset({1})]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
def test_pinned_holds_the_thread_on_its_cpus_then_lets_it_go() -> None:
    everywhere = os.sched_getaffinity(0)
    one = frozenset({min(everywhere)})
    seen: dict[str, set[int]] = {}

    def work() -> None:
        with pinned(one):
            seen["inside"] = os.sched_getaffinity(0)
            started = threading.Thread(target=lambda: seen.update(child=os.sched_getaffinity(0)))
            started.start()
            started.join()
        seen["after"] = os.sched_getaffinity(0)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()

    assert seen == {"inside": set(one), "child": set(one), "after": everywhere}
    assert os.sched_getaffinity(0) == everywhere  # other threads were never pinned
