"""--sink URIs: schemes, relative and absolute paths, and the messages for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_core.sinks import SinkError, open_sink


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("parquet://./out", "parquet://{cwd}/out"),
        ("parquet://out", "parquet://{cwd}/out"),
        ("arrow:///abs/out", "arrow:///abs/out"),
        ("sqlite:///out.db", "sqlite:///{cwd}/out.db"),
        ("sqlite:////abs/out.db", "sqlite:////abs/out.db"),
        ("duckdb:///data/out.duckdb", "duckdb:///{cwd}/data/out.duckdb"),
    ],
)
def test_relative_paths_resolve_against_the_current_folder(
    uri: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    sink = open_sink(uri)

    assert sink.uri == expected.format(cwd=tmp_path)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://bucket/out", "unknown scheme 's3'; use parquet://DIR, arrow://DIR"),
        ("out.db", "is not a URI"),
        ("sqlite://out.db", "malformed; use sqlite:///relative/file or sqlite:////absolute/file"),
        ("duckdb:///", "malformed"),
        ("parquet://", "names no folder"),
    ],
)
def test_bad_uris_say_what_to_write_instead(uri: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(SinkError) as caught:
        open_sink(uri)

    assert str(caught.value).startswith(f"sink {uri!r} ")
    assert message in str(caught.value)


def test_a_database_uri_naming_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match="is a folder"):
        open_sink(f"sqlite:///{tmp_path}")
