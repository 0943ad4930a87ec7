"""Write transactions lock one file: a scan writing the catalogue and the path index's fill
never wait for each other."""

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from casparian_core.db.connection import connect, path_index_file, write_transaction
from casparian_core.errors import DatabaseLockedError


def _quick(conn: sqlite3.Connection) -> sqlite3.Connection:
    conn.execute("PRAGMA busy_timeout = 50")
    return conn


@pytest.mark.parametrize(("held", "wanted"), [("path_index", "main"), ("main", "path_index")])
def test_holding_one_file_s_lock_leaves_the_other_free(
    tmp_path: Path, held: str, wanted: str
) -> None:
    path = tmp_path / "cf.sqlite3"
    with (
        closing(_quick(connect(path))) as first,
        closing(_quick(connect(path))) as second,
        write_transaction(first, held),
    ):
        with write_transaction(second, wanted):
            pass
        with pytest.raises(DatabaseLockedError) as busy, write_transaction(second, held):
            pass
        held_file = path if held == "main" else path_index_file(path)
        assert str(busy.value).startswith(f"{held_file} is locked by another process")


def test_a_failed_block_rolls_back(tmp_path: Path) -> None:
    with closing(connect(tmp_path / "cf.sqlite3")) as conn:
        with pytest.raises(ZeroDivisionError), write_transaction(conn):
            conn.execute(
                "INSERT INTO scout_sources (name, path, created_at) VALUES ('s', '/s', 't')"
            )
            1 / 0  # noqa: B018
        assert conn.execute("SELECT count(*) FROM scout_sources").fetchone()[0] == 0
        assert not conn.in_transaction
