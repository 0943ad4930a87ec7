"""`casparian` asks OpenBLAS for one thread (its processes and their workers inherit it), unless
the user chose a number: its threads spin at start-up, ~50 ms of CPU a process."""

from __future__ import annotations

import os

import pytest

from casparian_cli import main


def test_casparian_sets_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_the_users_own_number_of_blas_threads_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"
