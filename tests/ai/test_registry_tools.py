"""The registry tools on a home with a registered parser: versions, a version's contracts and
jobs; approve_schemas proposes a registration whose effect is the gatekeeper's report and the
contracts, registers nothing until approved, and is refused for a blocked parser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casparian_core.ai.actions import ActionStore
from casparian_core.ai.conversation import ActionStatus
from casparian_core.ai.tools.all import toolbox
from casparian_core.ai.tools.base import ToolEnv, ToolInputError
from casparian_core.service import CoreService
from tests.ai.prod_home import PARSER, ProdHome
from tests.ai.test_job_tools import ask

BLOCKED = PARSER.replace("from pathlib import Path", "import subprocess\nfrom pathlib import Path")


def working_copy(prod: ProdHome, tmp_path: Path, source: str) -> Path:
    """The parser project copied with `source` as its orders.py, linked into parsers/ (as a
    user keeps a project elsewhere and links its file into the home)."""
    project = tmp_path / "work" / "orders-parser"
    shutil.copytree(prod.project, project)
    (project / "orders.py").write_text(source)
    prod.settings.parsers_dir.mkdir(exist_ok=True)
    (prod.settings.parsers_dir / "orders.py").symlink_to(project / "orders.py")
    return project / "orders.py"


async def versions(service: CoreService) -> list[str]:
    return sorted(p.version for p in await service.registry.versions("orders"))


async def test_registered_versions_and_one_versions_contracts_and_jobs(
    prod_service: CoreService, tmp_path: Path
) -> None:
    [parser] = (await ask(prod_service, tmp_path, "list_registered_parsers"))["parsers"]
    assert parser["name"] == "orders"
    assert [(v["version"], v["topics"]) for v in parser["versions"]] == [("1.0.0", ["orders_csv"])]
    shown = await ask(prod_service, tmp_path, "show_parser_version", parser="orders")
    [contract] = shown["contracts"]
    assert contract["output"] == "orders" and '"min":0' in contract["schema"]
    assert shown["jobs"] == {"COMPLETED": 2, "COMPLETED_WITH_WARNINGS": 1, "FAILED": 2}
    env = ToolEnv(prod_service, ActionStore(prod_service.db, prod_service.clock), tmp_path)
    with pytest.raises(ToolInputError, match="no registered version '9"):
        await toolbox().call(env, "show_parser_version", {"parser": "orders", "version": "9.9"})


async def test_a_registration_shows_the_gatekeepers_report_and_waits_for_approval(
    prod_service: CoreService, prod: ProdHome, tmp_path: Path
) -> None:
    working_copy(prod, tmp_path, PARSER.format(version="2.0.0"))
    proposed = await ask(prod_service, tmp_path, "approve_schemas", parser="orders")
    effect = proposed["effect"]
    assert effect.startswith("Register orders 2.0.0 and approve its contracts.")
    assert "The gatekeeper found nothing that blocks registration." in effect
    assert "output orders" in effect and "min 0" in effect
    assert await versions(prod_service) == ["1.0.0"]  # nothing yet

    decided = await prod_service.assistant.decide(proposed["pending_action"], approve=True)
    assert decided.status is ActionStatus.APPROVED
    assert decided.outcome == "Registered orders 2.0.0; its contracts are approved."
    assert await versions(prod_service) == ["1.0.0", "2.0.0"]


async def test_a_parser_changed_after_the_proposal_is_not_registered(
    prod_service: CoreService, prod: ProdHome, tmp_path: Path
) -> None:
    source = working_copy(prod, tmp_path, PARSER.format(version="2.0.0"))
    proposed = await ask(prod_service, tmp_path, "approve_schemas", parser="orders")
    source.write_text(PARSER.format(version="2.0.0") + "# changed\n")
    decided = await prod_service.assistant.decide(proposed["pending_action"], approve=True)
    assert decided.status is ActionStatus.FAILED and "changed since" in (decided.outcome or "")
    assert await versions(prod_service) == ["1.0.0"]


@pytest.mark.parametrize(
    ("source", "arguments", "says"),
    [
        (BLOCKED.format(version="2.0.0"), {}, "subprocess"),
        (PARSER.format(version="1.0.0"), {}, "registered already"),
        (PARSER.format(version="2.0.0"), {"version": "3.0.0"}, "declares version 2.0.0"),
        (PARSER.format(version="2.0.0"), {"parser": "nope"}, "No parser 'nope'"),
    ],
)
async def test_what_cannot_be_registered_is_refused_not_proposed(
    prod_service: CoreService,
    prod: ProdHome,
    tmp_path: Path,
    source: str,
    arguments: dict[str, str],
    says: str,
) -> None:
    working_copy(prod, tmp_path, source)
    env = ToolEnv(prod_service, ActionStore(prod_service.db, prod_service.clock), tmp_path)
    with pytest.raises(ToolInputError, match=says):
        await toolbox().call(env, "approve_schemas", {"parser": "orders", **arguments})
    assert await prod_service.assistant.pending_actions() == []
