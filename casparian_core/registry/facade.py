"""`Registry`: the parser registry's API, reached as `CoreService.registry`.

Registering is two steps so a face can show what it would approve: `prepare(path)` checks and
packs the parser (nothing stored; the same content registered already comes back marked so),
then `register(plan)` stores the artifact and its approved contracts. `runnable` is how prod
runs a parser: the registered artifact, verified, unpacked and in its managed venv, never the
working copy. Async methods run the blocking work in threads.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.config import Settings
from casparian_core.db.connection import format_timestamp
from casparian_core.db.gateway import Gateway
from casparian_core.errors import CasparianError
from casparian_core.events import DataChanged, EventBus
from casparian_core.registry import contracts, store
from casparian_core.registry.contracts import ApprovedContract
from casparian_core.registry.errors import ParserNotRegisteredError, VersionExistsError
from casparian_core.registry.store import RegisteredParser

if TYPE_CHECKING:  # registering and materializing load on first use (the CLI starts light)
    from casparian_core.registry.materialize import RunnableParser
    from casparian_core.registry.register import RegistrationPlan

ORIGIN = "registry"


@dataclass(frozen=True)
class ParserDetail:
    """One registered version with its contracts, and the parser's other versions."""

    parser: RegisteredParser
    contracts: list[ApprovedContract]
    versions: list[str]  # every registered version of the parser, oldest first

    def as_json(self) -> dict[str, object]:
        return {
            **self.parser.as_json(),
            "contracts": [c.as_json() for c in self.contracts],
            "versions": self.versions,
        }


@dataclass(frozen=True)
class WorkingCopy:
    """A parser file or folder as it is now, beside what is registered under its name."""

    name: str
    versions: list[str]  # registered versions of the name, oldest first
    plan: RegistrationPlan | None  # ready to register (or registered already: plan.registered)
    problem: str | None  # why it cannot be registered as it is
    differs: bool  # its version is registered with other content

    @property
    def status(self) -> str:
        """draft (not registered, or registrable only with a new version) or approved."""
        return "approved" if self.plan is not None and self.plan.registered else "draft"

    @property
    def summary(self) -> str:
        if self.plan is not None and self.plan.registered is not None:
            return f"approved: the working copy is registered version {self.plan.version}"
        if self.differs:
            return "draft: differs from its registered version; raise `version` to register it"
        if self.plan is not None:
            return f"draft: version {self.plan.version} is not registered yet"
        return "draft: cannot be registered as it is"


class Registry:
    def __init__(
        self, settings: Settings, db: Gateway, events: EventBus, clock: Callable[[], datetime]
    ) -> None:
        self._settings = settings
        self._db = db
        self._events = events
        self._clock = clock

    async def prepare(self, path: Path) -> RegistrationPlan:
        """Check and pack the parser folder or file at `path`, storing nothing. Raises a typed
        error for what cannot be registered, VersionExistsError for a registered version with
        other content; `plan.registered` is set when this very content is registered."""
        from casparian_core.registry import register

        plan = await asyncio.to_thread(register.prepare, Path(path), self._settings)
        registered = await self._db.read(store.find, plan.name, plan.version)
        if registered is None:
            return plan
        data = await self._db.read(store.artifact, registered.id)
        approved = await self._db.read(contracts.of_parser, registered.id)
        return register.compare_with_registered(plan, registered, data, approved)

    async def register(
        self, plan: RegistrationPlan, approver: str | None = None
    ) -> RegisteredParser:
        """Store the plan with its contracts approved by `approver` (default: the OS user)
        now; returns the registered version (the existing one when nothing changed)."""
        from casparian_core.registry.envs import lock_hash
        from casparian_core.registry.register import registering_user

        if plan.registered is not None:
            return plan.registered
        by = approver or registering_user()
        at = format_timestamp(self._clock())
        parser = plan.parser(uuid.uuid4().hex, lock_hash(plan.lock_text), by, at)
        try:
            await self._db.write(
                store.insert, parser, plan.artifact, plan.approved_contracts(by, at)
            )
        except sqlite3.IntegrityError:  # another process registered this version meanwhile
            again = await self.prepare(plan.source)
            if again.registered is not None:
                return again.registered
            raise
        self._events.publish(DataChanged(origin=ORIGIN))
        return parser

    async def working_copy(self, path: Path, name: str) -> WorkingCopy:
        """The parser at `path` (known as `name`) beside its registered versions: registered as
        it is, registrable, or why not (a VersionExistsError: it differs from its version)."""
        versions = [p.version for p in await self.versions(name)]
        try:
            plan = await self.prepare(path)
        except VersionExistsError as exc:
            return WorkingCopy(name, versions, None, str(exc), differs=True)
        except CasparianError as exc:
            return WorkingCopy(name, versions, None, str(exc), differs=False)
        return WorkingCopy(plan.name, versions, plan, None, differs=False)

    async def parsers(self) -> list[RegisteredParser]:
        """Every registered version, by parser name then registration time."""
        return await self._db.read(store.versions)

    async def versions(self, name: str) -> list[RegisteredParser]:
        """The parser's registered versions, oldest first (empty when none)."""
        return await self._db.read(store.versions, name)

    async def show(self, name: str, version: str | None = None) -> ParserDetail:
        """The version (the latest registered when None) with its contracts."""
        parser = await self._find(name, version)
        approved = await self._db.read(contracts.of_parser, parser.id)
        versions = [p.version for p in await self.versions(name)]
        return ParserDetail(parser, approved, versions)

    async def for_topic(self, topic: str) -> list[RegisteredParser]:
        """The latest registered version of each parser bound to `topic`."""
        return await self._db.read(store.for_topic, topic)

    async def export(self, name: str, version: str, target: Path) -> list[Path]:
        """Unpack the version's verified artifact into the new or empty folder `target`."""
        from casparian_core.registry import materialize

        parser = await self._find(name, version)
        data = await self._db.read(store.artifact, parser.id)
        return await asyncio.to_thread(materialize.export, parser, data, Path(target))

    async def runnable(
        self,
        name: str,
        version: str | None = None,
        *,
        offline: bool = False,
        progress: Callable[[str], object] | None = None,
    ) -> RunnableParser:
        """The registered version (the latest when None) ready to run: its artifact verified
        (ArtifactCorruptError otherwise), unpacked, and its venv built or reused."""
        from casparian_core.registry import materialize

        parser = await self._find(name, version)
        data = await self._db.read(store.artifact, parser.id)
        return await asyncio.to_thread(
            materialize.runnable,
            self._settings,
            parser,
            data,
            offline=offline,
            progress=progress,
        )

    async def project_files(self, name: str, version: str | None = None) -> tuple[str, str]:
        """The (uv.lock, pyproject.toml) texts of the version (the latest when None), read from
        its verified artifact: what `casparian vendor <name>` gathers wheels for."""
        from casparian_core.registry import archive, materialize
        from casparian_core.registry.bundle import LOCK_FILE, PROJECT_FILE

        parser = await self._find(name, version)
        data = await self._db.read(store.artifact, parser.id)
        materialize.verify(parser, data)
        members = archive.read_members(data, f"parser {parser.name} {parser.version}")
        return members[LOCK_FILE].decode("utf-8"), members[PROJECT_FILE].decode("utf-8")

    async def _find(self, name: str, version: str | None) -> RegisteredParser:
        parser = await self._db.read(store.find, name, version)
        if parser is not None:
            return parser
        known = [p.version for p in await self.versions(name)]
        if not known:
            raise ParserNotRegisteredError(
                f"no parser named {name!r} is registered: `casparian parser list` shows those "
                "that are, `casparian parser register <path>` registers one"
            )
        raise ParserNotRegisteredError(
            f"{name} has no registered version {version!r}; its versions: {', '.join(known)}"
        )
