"""Preparing a registration: everything checked and packed, nothing stored yet.

`prepare` bundles the sources, refuses a missing or stale lock, runs the gatekeeper on every
bundled module, reads the parser's metadata and contracts from the bundled bytes (never
running them) and packs the artifact. The caller shows the plan's contracts for approval and
stores it (`store.insert`); `compare_with_registered` decides what an existing registration of
the same name and version means: the same content is a no-op, other content is refused.
"""

from __future__ import annotations

import ast
import getpass
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from casparian_core.config import Settings
from casparian_core.contracts.errors import ContractError
from casparian_core.contracts.model import OutputSpec
from casparian_core.parsers.metadata import ParserInfo, ParserLoadError, read_parser_info
from casparian_core.registry import archive
from casparian_core.registry.bundle import LOCK_FILE, PROJECT_FILE, Sources, collect_sources
from casparian_core.registry.contracts import ApprovedContract
from casparian_core.registry.errors import LockMissingError, ProjectFileError, VersionExistsError
from casparian_core.registry.lock_check import check_lock, lock_command
from casparian_core.registry.project import Project, read_project
from casparian_core.registry.store import RegisteredParser

if TYPE_CHECKING:
    from casparian_core.registry.gatekeeper import Finding


@dataclass(frozen=True)
class RegistrationPlan:
    """A parser ready to register: shown for approval, then stored as it is."""

    name: str
    version: str
    topics: tuple[str, ...]
    outputs: dict[str, OutputSpec]  # the contracts to approve, in declared order
    source: Path  # the folder or file registered
    entry: str  # the parser file's path inside the artifact
    files: tuple[str, ...]  # every path the artifact holds
    artifact: bytes = field(repr=False)
    artifact_sha256: str
    lock_text: str = field(repr=False)
    pyproject_text: str = field(repr=False)
    allowances: tuple[str, ...]  # [tool.casparian] allow
    allowed_findings: tuple[Finding, ...]  # what the gatekeeper let through because allowed
    registered: RegisteredParser | None = None  # this very content, registered already

    def parser(self, parser_id: str, lock_hash: str, by: str, at: str) -> RegisteredParser:
        return RegisteredParser(
            parser_id,
            self.name,
            self.version,
            self.artifact_sha256,
            len(self.artifact),
            self.entry,
            lock_hash,
            self.allowances,
            str(self.source),
            by,
            at,
            self.topics,
        )

    def approved_contracts(self, by: str, at: str) -> list[ApprovedContract]:
        return [ApprovedContract.approve(spec, by, at) for spec in self.outputs.values()]


def prepare(path: Path, settings: Settings) -> RegistrationPlan:
    """Check and pack the parser at `path`; raises a typed error naming what to fix."""
    from casparian_core.registry.gatekeeper import GatekeeperBlockedError, check_bundle

    sources = collect_sources(path, settings.registry_max_bundle_bytes)
    pyproject_text, lock_text = _project_files(sources)
    project = read_project(pyproject_text, str(sources.root / PROJECT_FILE))
    check_lock(project, lock_text, sources.root)
    entry = _entry(sources, project)
    report = check_bundle(sources.files, project.allow)
    if report.blocked:
        raise GatekeeperBlockedError(report)
    info = _read_bundled_info(sources.files, entry, sources.root)
    if not info.outputs:
        raise ContractError(
            f"{sources.root / entry}: declares no `outputs`; a registered parser needs a "
            "contract for each output (see README, Contracts), approved as it is registered"
        )
    artifact = archive.pack(sources.files)
    return RegistrationPlan(
        name=info.name,
        version=info.version,
        topics=info.topics,
        outputs=info.outputs,
        source=Path(path).absolute(),
        entry=entry,
        files=tuple(sources.files),
        artifact=artifact,
        artifact_sha256=archive.sha256_hex(artifact),
        lock_text=lock_text,
        pyproject_text=pyproject_text,
        allowances=project.allow,
        allowed_findings=tuple(report.allowed),
    )


def compare_with_registered(
    plan: RegistrationPlan,
    registered: RegisteredParser,
    registered_artifact: bytes,
    registered_contracts: list[ApprovedContract],
) -> RegistrationPlan:
    """The plan marked as registered already (the same content), or VersionExistsError."""
    if registered.artifact_sha256 == plan.artifact_sha256:
        return replace(plan, registered=registered)
    where = f"{plan.name} {plan.version}"
    hashes = {c.output: c.schema_hash for c in registered_contracts}
    changed = sorted(
        name
        for name in hashes.keys() | plan.outputs.keys()
        if name not in plan.outputs or hashes.get(name) != plan.outputs[name].schema_hash()
    )
    old = archive.read_members(registered_artifact, f"the artifact of {where}")
    new = archive.read_members(plan.artifact, str(plan.source))
    differ = sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p))
    contract = (
        f"; the contract of {', '.join(changed)} changed, and a changed contract needs a new "
        "version"
        if changed
        else ""
    )
    raise VersionExistsError(
        f"{where} is registered already (by {registered.registered_by} at "
        f"{registered.registered_at}) with other content: {', '.join(differ)} differ{contract}. "
        f"A registered version never changes: raise `version` in {plan.entry} and register again"
    )


def registering_user() -> str:
    """Who registers: the OS user (its uid when the system has no name for it)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return str(os.getuid())


def _project_files(sources: Sources) -> tuple[str, str]:
    project = sources.files.get(PROJECT_FILE)
    if project is None:
        raise LockMissingError(
            f"{sources.root}: no {PROJECT_FILE}; a registered parser declares its dependencies "
            f"there and locks them in {LOCK_FILE}: run `uv init --bare --directory "
            f"{sources.root}`, `uv add` each dependency, then `{lock_command(sources.root)}`"
        )
    lock = sources.files.get(LOCK_FILE)
    if lock is None:
        raise LockMissingError(
            f"{sources.root}: no {LOCK_FILE}; a registered parser runs in an environment built "
            f"from its lock: run `{lock_command(sources.root)}` and register again"
        )
    return project.decode("utf-8"), lock.decode("utf-8")


def _entry(sources: Sources, project: Project) -> str:
    """The parser file: the one given, `[tool.casparian] parser`, or the only top-level
    module of the folder that defines `parse`."""
    if sources.single_file is not None:
        return sources.single_file
    if project.parser is not None:
        entry = PurePosixPath(project.parser).as_posix()
        if entry not in sources.files or not entry.endswith(".py"):
            raise ProjectFileError(
                f"{sources.root / PROJECT_FILE}: [tool.casparian] parser = {project.parser!r} "
                "is not a .py file of the folder"
            )
        return entry
    found = [
        name
        for name, content in sources.files.items()
        if "/" not in name and name.endswith(".py") and _may_define_parse(content)
    ]
    if len(found) == 1:
        return found[0]
    which = f"several define `parse` ({', '.join(found)})" if found else "none defines `parse`"
    raise ParserLoadError(
        f"{sources.root}: cannot tell which module is the parser: of the top-level .py files, "
        f'{which}; name it in {PROJECT_FILE}: [tool.casparian] parser = "my_parser.py"'
    )


def _may_define_parse(content: bytes) -> bool:
    """A top-level `def parse` or a class with one (a module that does not parse counts, so
    the metadata reader reports its syntax error)."""
    if b"def parse" not in content:  # most helper modules: no need to parse them
        return False
    try:
        tree = ast.parse(content)
    except SyntaxError:
        return True
    for node in tree.body:
        body = node.body if isinstance(node, ast.ClassDef) else [node]
        if any(isinstance(item, ast.FunctionDef) and item.name == "parse" for item in body):
            return True
    return False


def _read_bundled_info(files: Mapping[str, bytes], entry: str, root: Path) -> ParserInfo:
    """The parser's metadata read from the bytes being bundled (not the folder, which may
    change meanwhile); errors name the file in the folder."""
    with tempfile.TemporaryDirectory(prefix="casparian-register-") as folder:
        path = Path(folder) / PurePosixPath(entry).name
        path.write_bytes(files[entry])
        try:
            return read_parser_info(path)
        except (ParserLoadError, ContractError) as exc:
            raise type(exc)(str(exc).replace(str(path), str(root / entry))) from None
