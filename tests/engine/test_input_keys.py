"""What names an input in the outputs: its path below the run's input root."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_core.engine.inputs import expand_inputs, input_keys, input_root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("a.csv", "sub/b.csv", "sub/deeper/c.log"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    return tmp_path


@pytest.mark.parametrize(
    ("argument", "keys"),
    [
        ("", ["a.csv", "sub/b.csv", "sub/deeper/c.log"]),  # the folder itself
        ("sub", ["b.csv", "deeper/c.log"]),
        ("sub/b.csv", ["b.csv"]),  # a single file: its name
        ("sub/**/*.log", ["deeper/c.log"]),  # a glob: below its folders before the pattern
        ("*.csv", ["a.csv"]),
    ],
)
def test_keys_are_paths_below_the_argument_root(
    tree: Path, argument: str, keys: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    argument = argument or str(tree)
    assert input_keys(expand_inputs(argument), input_root(argument)) == keys


def test_without_a_root_keys_are_below_the_inputs_common_folder(tree: Path) -> None:
    assert input_keys([tree / "sub/b.csv", tree / "sub/deeper/c.log"]) == ["b.csv", "deeper/c.log"]
    assert input_keys([tree / "a.csv"]) == ["a.csv"]
