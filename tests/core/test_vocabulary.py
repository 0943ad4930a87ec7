"""One vocabulary: error codes, run statuses and job statuses are enums, used as enums."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import casparian_cli
import casparian_core
from casparian_core.bridge import protocol
from casparian_core.engine.results import SUCCESSFUL_RUN_STATUSES, RunResult, RunStatus
from casparian_core.errors import CasparianError, ErrorCode
from casparian_core.jobs.status import JobStatus
from casparian_core.stats import JOB_STATUS_ORDER, JOB_STATUS_WORDS

ROOT = Path(casparian_core.__file__).parent.parent
FACES_AND_CORE = ("casparian_core", "casparian_cli", "casparian_tui")
# The guest runs outside the host's packages and may not import the host's enum.
GUEST_MODULES = {ROOT / "casparian_core/bridge" / name for name in ("guest.py", "protocol.py")}
VOCABULARY = {m.value for enum in (ErrorCode, RunStatus, JobStatus) for m in enum}


def guest_codes() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(protocol.ErrorCode).items()
        if not name.startswith("_") and isinstance(value, str)
    }


def test_the_guests_error_codes_are_the_hosts() -> None:
    codes = guest_codes()
    assert codes, "the guest's mirror lost its codes"
    for name, value in codes.items():
        assert ErrorCode[name] == value, name


def all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *all_subclasses(sub)]
    return found


def import_all(package: object) -> None:
    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):  # type: ignore[attr-defined]
        if not module.name.endswith(".__main__"):  # running it is not importing it
            importlib.import_module(module.name)


def test_every_casparian_error_declares_its_code() -> None:
    import_all(casparian_core)
    import_all(casparian_cli)
    subclasses = all_subclasses(CasparianError)
    assert len(subclasses) > 20  # the walk found the subsystems' errors
    undeclared = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in subclasses
        if not isinstance(cls.__dict__.get("error_code"), ErrorCode)
    ]
    assert undeclared == []


def python_files() -> list[Path]:
    return [path for package in FACES_AND_CORE for path in sorted((ROOT / package).rglob("*.py"))]


def test_host_code_uses_the_hosts_error_codes_not_the_guests_mirror() -> None:
    offenders = []
    for path in python_files():
        if path in GUEST_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            mirror = (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").endswith("protocol")
                and any(alias.name == "ErrorCode" for alias in node.names)
            ) or (
                isinstance(node, ast.Attribute)
                and node.attr == "ErrorCode"
                and isinstance(node.value, ast.Name)
                and node.value.id == "protocol"
            )
            if mirror:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def compared_literals(node: ast.Compare) -> list[ast.Constant]:
    operands = [node.left, *node.comparators]
    for operand in list(operands):
        if isinstance(operand, ast.Tuple | ast.List | ast.Set):
            operands += operand.elts
    return [o for o in operands if isinstance(o, ast.Constant) and o.value in VOCABULARY]


def test_codes_and_statuses_are_never_compared_as_string_literals() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno} {literal.value!r}"
        for path in python_files()
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Compare)
        for literal in compared_literals(node)
    ]
    assert offenders == []


@pytest.mark.parametrize("status", list(RunStatus))
def test_a_run_is_ok_exactly_when_its_status_is_successful(status: RunStatus) -> None:
    result = RunResult("p", "1", Path("in.csv"), status)
    assert result.ok == (status in SUCCESSFUL_RUN_STATUSES)
    assert result.ok == (status not in (RunStatus.FAILED, RunStatus.CANCELLED))


def test_every_job_status_has_a_place_and_a_word_in_the_summary() -> None:
    assert sorted(JOB_STATUS_ORDER) == sorted(JobStatus)
    assert set(JOB_STATUS_WORDS) == set(JobStatus)


def test_enum_members_are_stored_and_printed_as_their_text() -> None:
    # A member written to SQLite, JSON or an f-string is its value, so stored text stays as is.
    import json
    import sqlite3

    conn = sqlite3.connect(":memory:")
    assert conn.execute("SELECT ?", (RunStatus.FAILED,)).fetchone() == ("FAILED",)
    assert json.dumps({"code": ErrorCode.CRASHED}) == '{"code": "CRASHED"}'
    assert f"{JobStatus.DEAD_LETTER}" == "DEAD_LETTER"
