"""A uv.lock must lock what pyproject.toml asks for; the refusal names the uv command."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_core.registry.errors import LockMismatchError
from casparian_core.registry.lock_check import check_lock
from casparian_core.registry.project import read_project
from tests.registry.support import pyproject, uv_lock

FOLDER = Path("/work/parsers/events")


def check(project_text: str, lock_text: str) -> None:
    check_lock(read_project(project_text, "pyproject.toml"), lock_text, FOLDER)


def test_a_lock_of_the_same_requirements_passes_however_they_are_written() -> None:
    check(
        pyproject(("PyArrow>=15.0,<27", "python_dateutil[extra_a]==2.9")),
        uv_lock((("pyarrow", "<27,>=15"), ("python-dateutil", "==2.9"))).replace(
            '{ name = "python-dateutil", specifier',
            '{ name = "python-dateutil", extras = ["extra-a"], specifier',
        ),
    )
    check(pyproject(), uv_lock())


def test_a_dependency_the_lock_lacks_is_refused_with_the_uv_lock_command() -> None:
    with pytest.raises(LockMismatchError) as caught:
        check(pyproject(("pyarrow>=15", "requests")), uv_lock((("pyarrow", ">=15"),)))

    message = str(caught.value)
    assert "not locked: requests" in message
    assert "uv lock --directory /work/parsers/events" in message


def test_a_changed_version_range_or_a_removed_dependency_is_refused() -> None:
    with pytest.raises(LockMismatchError, match=r"not locked: pyarrow>=16.*no longer asked"):
        check(pyproject(("pyarrow>=16",)), uv_lock((("pyarrow", ">=15"),)))
    with pytest.raises(LockMismatchError, match=r"locked but no longer asked for: polars"):
        check(pyproject(), uv_lock((("polars", ""),)))


def test_optional_dependencies_and_groups_count_with_their_group() -> None:
    project = pyproject() + '\n[project.optional-dependencies]\nfast = ["orjson>=3"]\n'
    lock = uv_lock().replace(
        'source = { virtual = "." }\n',
        'source = { virtual = "." }\n\n[package.metadata]\nrequires-dist = '
        '[{ name = "orjson", marker = "extra == \'fast\'", specifier = ">=3" }]\n'
        'provides-extras = ["fast"]\n\n[package.metadata.requires-dev]\n'
        'dev = [{ name = "pytest" }]\n',
    )
    check(project + '\n[dependency-groups]\ndev = ["pytest"]\n', lock)
    with pytest.raises(LockMismatchError, match=r"pytest \(in group dev\)"):
        check(project, lock)


def test_a_lock_for_another_python_or_project_is_refused() -> None:
    with pytest.raises(LockMismatchError, match="requires-python"):
        check(pyproject().replace(">=3.11", ">=3.12"), uv_lock())
    with pytest.raises(LockMismatchError, match="no entry for the project"):
        check(pyproject(), uv_lock().replace('source = { virtual = "." }', "source = { x = 1 }"))
    with pytest.raises(LockMismatchError, match="not a uv lock file"):
        check(pyproject(), "this is [not toml")
