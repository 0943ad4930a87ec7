"""Registering through the service: stored immutable, refused when it would change history."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from casparian_core.contracts.errors import ContractError
from casparian_core.contracts.model import parse_outputs
from casparian_core.registry.errors import (
    ArtifactCorruptError,
    ExportTargetError,
    LockMismatchError,
    LockMissingError,
    ParserNotRegisteredError,
    UnsafeArchiveError,
    VersionExistsError,
)
from casparian_core.registry.gatekeeper import GatekeeperBlockedError
from casparian_core.service import CoreService
from tests.conftest import FIXED_NOW
from tests.registry.support import write_package, zip_with

SUBPROCESS_HELPER = "import subprocess\n\n\ndef run():\n    subprocess.run(['ls'])\n"


async def test_a_package_registers_with_its_contracts_approved(
    service: CoreService, tmp_path: Path
) -> None:
    folder = write_package(tmp_path / "pkg")

    plan = await service.registry.prepare(folder)
    assert (plan.name, plan.version, plan.topics, plan.entry) == (
        "events",
        "1.0.0",
        ("app_events",),
        "events.py",
    )
    assert plan.registered is None
    parser = await service.registry.register(plan, approver="alice")

    detail = await service.registry.show("events")
    assert detail.parser == parser
    assert parser.artifact_sha256 == plan.artifact_sha256
    assert parser.registered_by == "alice"
    assert parser.registered_at.startswith(FIXED_NOW.strftime("%Y-%m-%dT%H:%M:%S"))
    [contract] = detail.contracts
    expected = parse_outputs(
        {
            "events": {
                "ts": {"type": "string", "nullable": False},
                "amount": {"type": "int64", "min": 0},
                "_max_quarantine_pct": 5,
            }
        },
        "x",
    )["events"]
    assert (contract.output, contract.schema_hash) == ("events", expected.schema_hash())
    assert (contract.structure, contract.values, contract.max_quarantine_pct) == (
        "freeze",
        "quarantine",
        5,
    )
    assert (contract.approved_by, contract.approved_at) == ("alice", parser.registered_at)
    assert [p.version for p in await service.registry.parsers()] == ["1.0.0"]
    assert [p.name for p in await service.registry.for_topic("app_events")] == ["events"]


async def test_registering_the_same_content_again_is_a_no_op(
    service: CoreService, tmp_path: Path
) -> None:
    folder = write_package(tmp_path / "pkg")
    first = await service.registry.register(await service.registry.prepare(folder))
    copy = write_package(tmp_path / "elsewhere" / "pkg")

    again = await service.registry.prepare(copy)

    assert again.registered == first
    assert await service.registry.register(again) == first
    assert len(await service.registry.parsers()) == 1


async def test_the_same_version_with_other_content_is_refused(
    service: CoreService, tmp_path: Path
) -> None:
    folder = write_package(tmp_path / "pkg")
    await service.registry.register(await service.registry.prepare(folder))

    (folder / "helpers.py").write_text("def clean(text):\n    return text\n")
    with pytest.raises(VersionExistsError, match=r"helpers\.py differ\. A registered version"):
        await service.registry.prepare(folder)

    write_package(folder, amount_type="float64")
    with pytest.raises(VersionExistsError, match="the contract of events changed"):
        await service.registry.prepare(folder)

    write_package(folder, version="1.1.0", amount_type="float64")
    await service.registry.register(await service.registry.prepare(folder))
    detail = await service.registry.show("events")
    assert (detail.parser.version, detail.versions) == ("1.1.0", ["1.0.0", "1.1.0"])
    older = await service.registry.show("events", "1.0.0")
    assert older.contracts[0].schema_hash != detail.contracts[0].schema_hash


async def test_a_parser_without_a_lock_or_with_a_stale_one_is_refused(
    service: CoreService, tmp_path: Path
) -> None:
    folder = write_package(tmp_path / "pkg")
    (folder / "uv.lock").unlink()
    with pytest.raises(LockMissingError, match=r"no uv\.lock.*`uv lock --directory "):
        await service.registry.prepare(folder)

    write_package(folder, dependencies=("pyarrow>=15",))
    with pytest.raises(LockMismatchError, match=r"not locked: pyarrow>=15.*uv lock --directory"):
        await service.registry.prepare(folder)

    (folder / "pyproject.toml").unlink()
    with pytest.raises(LockMissingError, match=r"no pyproject\.toml"):
        await service.registry.prepare(folder / "events.py")
    assert await service.registry.parsers() == []


async def test_a_parser_without_outputs_is_refused(service: CoreService, tmp_path: Path) -> None:
    folder = write_package(tmp_path / "pkg")
    (folder / "events.py").write_text("def parse(path):\n    return []\n")

    with pytest.raises(ContractError, match=r"events\.py: declares no `outputs`"):
        await service.registry.prepare(folder)


async def test_export_writes_the_verified_sources_into_a_new_folder(
    service: CoreService, tmp_path: Path
) -> None:
    folder = write_package(tmp_path / "pkg")
    await service.registry.register(await service.registry.prepare(folder))

    written = await service.registry.export("events", "1.0.0", tmp_path / "out")

    assert sorted(p.name for p in written) == [
        "events.py",
        "helpers.py",
        "pyproject.toml",
        "uv.lock",
    ]
    for path in written:
        assert path.read_bytes() == (folder / path.name).read_bytes()
    with pytest.raises(ExportTargetError, match="not an empty folder"):
        await service.registry.export("events", "1.0.0", tmp_path / "out")
    with pytest.raises(ParserNotRegisteredError, match=r"its versions: 1\.0\.0"):
        await service.registry.export("events", "9.9", tmp_path / "other")
    with pytest.raises(ParserNotRegisteredError, match="no parser named 'nope'"):
        await service.registry.show("nope")


def corrupt_artifact(database: Path) -> None:
    """Damage below the product: a byte of the stored artifact changes."""
    conn = sqlite3.connect(database)
    conn.execute("DROP TRIGGER cf_parsers_immutable")
    conn.execute(
        "UPDATE cf_parsers SET artifact = CAST(substr(artifact, 1, 100) || x'00' ||"
        " substr(artifact, 102) AS BLOB)"
    )
    conn.commit()
    conn.close()


async def test_a_corrupted_artifact_is_refused_naming_parser_and_version(
    service: CoreService, tmp_path: Path
) -> None:
    folder = write_package(tmp_path / "pkg")
    await service.registry.register(await service.registry.prepare(folder))
    corrupt_artifact(service.settings.database_path)

    with pytest.raises(ArtifactCorruptError, match=r"parser events 1\.0\.0: .* will not run"):
        await service.registry.runnable("events")
    with pytest.raises(ArtifactCorruptError, match=r"parser events 1\.0\.0"):
        await service.registry.export("events", "1.0.0", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not service.settings.artifacts_dir.exists()


async def test_registered_rows_cannot_be_changed_or_deleted(
    service: CoreService, tmp_path: Path
) -> None:
    await service.registry.register(await service.registry.prepare(write_package(tmp_path / "p")))
    conn = sqlite3.connect(service.settings.database_path)

    for statement in (
        "UPDATE cf_contracts SET schema_json = '{}'",
        "DELETE FROM cf_contracts",
        "UPDATE cf_parsers SET version = '2.0'",
        "DELETE FROM cf_parsers",
        "DELETE FROM cf_parser_topics",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="never"):
            conn.execute(statement)
    conn.close()


async def test_export_refuses_an_artifact_altered_to_climb_out_of_its_folder(
    service: CoreService, tmp_path: Path
) -> None:
    await service.registry.register(await service.registry.prepare(write_package(tmp_path / "p")))
    hostile = zip_with("../../outside.py")
    conn = sqlite3.connect(service.settings.database_path)
    conn.execute("DROP TRIGGER cf_parsers_immutable")  # altered with a matching hash, as an
    conn.execute(  # attacker with write access to the database could
        "UPDATE cf_parsers SET artifact = ?, artifact_sha256 = ?",
        (hostile, hashlib.sha256(hostile).hexdigest()),
    )
    conn.commit()
    conn.close()

    with pytest.raises(UnsafeArchiveError, match=r"'\.\./\.\./outside\.py' climbs out"):
        await service.registry.export("events", "1.0.0", tmp_path / "a" / "b")
    assert not (tmp_path / "outside.py").exists()
    assert not (tmp_path / "a" / "b").exists()


async def test_the_gatekeeper_blocks_before_anything_is_stored_unless_allowed(
    service: CoreService, tmp_path: Path
) -> None:
    folder = write_package(tmp_path / "pkg")
    (folder / "helpers.py").write_text(
        "import subprocess\n\n\ndef run():\n    subprocess.run(['ls'])\n"
    )

    with pytest.raises(GatekeeperBlockedError, match=r"helpers\.py:1"):
        await service.registry.prepare(folder)
    assert await service.registry.parsers() == []

    write_package(folder, allow=("subprocess",))
    (folder / "helpers.py").write_text(
        "import subprocess\n\n\ndef run():\n    subprocess.run(['ls'])\n"
    )
    plan = await service.registry.prepare(folder)
    assert {(f.path, f.rule) for f in plan.allowed_findings} == {("helpers.py", "subprocess")}
    await service.registry.register(plan)
    assert (await service.registry.show("events")).parser.allowances == ("subprocess",)


async def test_two_registrations_racing_for_one_version_keep_the_first(
    service: CoreService, tmp_path: Path
) -> None:
    same = await service.registry.prepare(write_package(tmp_path / "a"))
    again = await service.registry.prepare(write_package(tmp_path / "b"))
    other = await service.registry.prepare(write_package(tmp_path / "c", amount_type="float64"))

    first = await service.registry.register(same)
    assert await service.registry.register(again) == first  # the same content: the first
    with pytest.raises(VersionExistsError, match="the contract of events changed"):
        await service.registry.register(other)
    assert [p.artifact_sha256 for p in await service.registry.parsers()] == [same.artifact_sha256]
