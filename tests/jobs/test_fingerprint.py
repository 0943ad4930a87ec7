"""Error fingerprints (FS-8): the same root cause has one fingerprint on any machine, file or
line, and another cause (another function, type, code or context structure) another one."""

from __future__ import annotations

import sqlite3

from casparian_core.errors import ErrorCode
from casparian_core.jobs import fingerprint, queue
from casparian_core.jobs.fingerprint import normalize_trace, signature, structure
from casparian_core.jobs.model import JobFailure, JobQuery

from .conftest import Clock, claim_one, enqueue_one


def trace(folder: str, line: int, function: str = "parse", value: str = "'amount'") -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "{folder}/casparian_core/bridge/guest.py", line {line + 200}, in run_job\n'
        "    result = parser.parse(path)\n"
        f'  File "{folder}/parsers/sales.py", line {line}, in {function}\n'
        "    total += row[key]\n"
        "             ~~~^^^^^\n"
        f"KeyError: {value}\n"
    )


CONTEXT = {"column": "amount", "expected": "float", "row": 12}


def fp(
    text: str, code: ErrorCode = ErrorCode.SCHEMA_MISMATCH, context: dict[str, object] = CONTEXT
) -> str:
    return signature(code, text, context).fingerprint


def test_a_fingerprint_is_16_hex_digits() -> None:
    found = fp(trace("/home/ana", 12))
    assert len(found) == 16 and int(found, 16) >= 0


def test_the_same_cause_on_other_machines_lines_and_values_has_one_fingerprint() -> None:
    here = fp(trace("/home/ana/work", 12, value="'amount'"))
    there = fp(
        trace("C:\\Users\\bo\\flow", 40, value="'amt'"),
        context={"column": "amt", "expected": "decimal", "row": 99999},
    )
    assert here == there


def test_another_function_type_code_or_context_structure_is_another_fingerprint() -> None:
    base = fp(trace("/a", 12))
    assert fp(trace("/a", 12, function="parse_rows")) != base
    assert fp(trace("/a", 12).replace("KeyError", "IndexError")) != base
    assert fp(trace("/a", 12), code=ErrorCode.UNKNOWN_ERROR) != base
    assert fp(trace("/a", 12), context={**CONTEXT, "sheet": "Q1"}) != base  # another key
    assert fp(trace("/a", 12), context={**CONTEXT, "row": "12"}) != base  # another type


def test_a_trace_keeps_file_names_functions_and_source_lines_only() -> None:
    assert normalize_trace(trace("/home/ana", 12)) == (
        'File "guest.py", in run_job\n'
        "result = parser.parse(path)\n"
        'File "sales.py", in parse\n'
        "total += row[key]"
    )
    assert signature(ErrorCode.SCHEMA_MISMATCH, trace("/x", 1), {}).error_type == "KeyError"
    dotted = "Traceback (most recent call last):\npyarrow.lib.ArrowInvalid: bad\n"
    assert signature(ErrorCode.INVALID_DATA, dotted, {}).error_type == "pyarrow.lib.ArrowInvalid"
    assert signature(ErrorCode.CRASHED, None, {}).error_type == ""  # seen by the host


def test_only_the_first_4_kb_of_a_trace_count() -> None:
    frames = "".join(
        f'  File "/deep/mod{n}.py", line {n}, in level_{n}\n    step_{n}()\n' for n in range(400)
    )
    deep = f"Traceback (most recent call last):\n{frames}RecursionError: too deep\n"
    normalized = normalize_trace(deep)
    assert len(normalized.encode()) == 4096
    assert normalized.startswith('File "mod0.py", in level_0\nstep_0()')
    deeper = deep.replace("level_399", "somewhere_else")  # past the first 4 KB
    assert fp(deep) == fp(deeper)


def test_structure_names_keys_and_types_never_values() -> None:
    assert structure({"column": "amount", "expected": "float"}) == "column:string,expected:string"
    assert structure({"b": 1.5, "a": None, "c": {"d": [1], "e": True}}) == (
        "a:null,b:number,c.d:array,c.e:boolean,c:object"
    )


def fail_with(conn: sqlite3.Connection, clock: Clock, name: str, text: str) -> str:
    job_id = enqueue_one(conn, clock, name)
    claim_one(conn, clock)
    failure = JobFailure(ErrorCode.SCHEMA_MISMATCH, "KeyError: 'amount'", False, text, CONTEXT)
    outcome = queue.fail(conn, job_id, "w", failure, clock())
    assert outcome is not None
    return outcome.fingerprint


def test_occurrences_are_counted_per_fingerprint_and_file(
    conn: sqlite3.Connection, clock: Clock
) -> None:
    first = fail_with(conn, clock, "a.csv", trace("/x", 3))
    clock.advance(1)
    assert fail_with(conn, clock, "b.csv", trace("/y", 9)) == first
    queue.requeue(conn, queue.jobs(conn, JobQuery())[0].job_id, clock())  # b.csv again
    clock.advance(1)
    assert fail_with(conn, clock, "b.csv", trace("/y", 9)) == first
    other = fail_with(conn, clock, "c.csv", trace("/x", 3, function="other"))

    summaries = fingerprint.summaries(conn)
    assert [(s.fingerprint, s.occurrences, s.files) for s in summaries] == [
        (first, 3, 2),
        (other, 1, 1),
    ]
    assert (
        summaries[0].error_type == "KeyError"
        and summaries[0].error_code is ErrorCode.SCHEMA_MISMATCH
    )
    files = fingerprint.files(conn, first)
    assert [(f.input_path, f.occurrences) for f in files] == [
        ("/data/b.csv", 2),
        ("/data/a.csv", 1),
    ]
    detail = fingerprint.detail(conn, first)
    assert detail is not None and detail.trace == normalize_trace(trace("/x", 3))
    assert [o.input_path for o in detail.recent] == ["/data/b.csv", "/data/b.csv", "/data/a.csv"]
    assert fingerprint.detail(conn, "0" * 16) is None
