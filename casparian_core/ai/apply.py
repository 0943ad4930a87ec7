"""Applying an approved action: the one place the assistant changes anything. What is applied
is the payload stored with the action when it was proposed; a parser file that changed since
the proposal is not overwritten (the action fails and says so)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from casparian_core.ai.actions import Payload
from casparian_core.ai.conversation import ActionKind, ActionStatus, PendingAction
from casparian_core.ai.parser_files import back_up, digest, write_atomically
from casparian_core.ai.test_report import describe, one_line
from casparian_core.ai.tools.base import as_json
from casparian_core.errors import CasparianError
from casparian_core.scout.queries import UNTAGGED, FileQuery

if TYPE_CHECKING:
    from casparian_core.jobs.plan import ProcessRequest
    from casparian_core.service import CoreService

JOB_IDS_SHOWN = 100


@dataclass(frozen=True)
class Applied:
    """The decision's status and outcome (for the user); `detail` is more for the model (a
    re-run test's full report)."""

    status: ActionStatus
    outcome: str
    detail: str | None = None


class StaleActionError(Exception):
    """What the action would change is no longer what it was proposed against."""


async def apply_action(service: CoreService, action: PendingAction, payload: Payload) -> Applied:
    try:
        if action.kind is ActionKind.TAG_FILES:
            outcome = await _tag_files(service, payload)
        elif action.kind is ActionKind.ADD_RULE:
            outcome = await _add_rule(service, payload)
        elif action.kind is ActionKind.WRITE_PARSER:
            outcome = _write_parser(payload)
        elif action.kind is ActionKind.RETRY_JOB:
            await service.queue.retry(payload["job_id"])
            outcome = f"Job {payload['job_id']} is queued again."
        elif action.kind is ActionKind.CANCEL_JOB:
            await service.queue.cancel(payload["job_id"])
            outcome = f"Job {payload['job_id']} is cancelled."
        elif action.kind is ActionKind.REGISTER_PARSER:
            outcome = await _register_parser(service, payload)
        elif action.kind is ActionKind.EXECUTE_PIPELINE:
            outcome = await _execute_pipeline(service, payload)
        elif action.kind is ActionKind.REPLAY_QUARANTINE:
            outcome = await _replay_quarantine(service, payload)
        else:
            outcome = _patch_parser(service, payload)
    except (CasparianError, StaleActionError, OSError) as exc:
        return Applied(ActionStatus.FAILED, f"Not applied: {exc}")
    if action.kind is ActionKind.PATCH_PARSER and payload.get("test_input"):
        return await _retest(service, Path(payload["path"]), Path(payload["test_input"]), outcome)
    return Applied(ActionStatus.APPROVED, outcome)


async def _tag_files(service: CoreService, payload: Payload) -> str:
    query = await file_query_of(service, payload["query"])
    tagged = await service.scout.tag_files(query, payload["tag"])
    return f"Tagged {tagged} files {payload['tag']!r} (the proposal showed {payload['count']})."


async def file_query_of(service: CoreService, stored: Payload) -> FileQuery:
    source = stored.get("source")
    source_id = (await service.scout.find_source(source)).id if source else None
    tag = UNTAGGED if stored.get("untagged") else stored.get("tag")
    return FileQuery(source_id=source_id, tag=tag, glob=stored.get("glob"))


async def _add_rule(service: CoreService, payload: Payload) -> str:
    rule_id = await service.scout.add_rule(
        payload["pattern"],
        payload["tag"],
        priority=payload["priority"],
        source=payload["source"],
    )
    files = next((r.files for r in await service.scout.rules() if r.id == rule_id), 0)
    rule = f"{payload['pattern']} -> {payload['tag']}"
    return f"Added rule {rule_id} ({rule}); it tags {files} files."


def pipeline_request(stored: Payload) -> ProcessRequest:
    from casparian_core.jobs.plan import ProcessRequest

    return ProcessRequest(
        parser=stored["parser"], source=stored["source"], tag=stored["tag"], limit=stored["limit"]
    )


async def _execute_pipeline(service: CoreService, payload: Payload) -> str:
    from casparian_core.jobs.plan import plan

    sink = service.settings.output_uri  # where `casparian process` writes
    request = pipeline_request(payload["request"])
    planned = await plan(service.registry, service.scout, request, sink)
    jobs = await service.queue.enqueue(planned.requests)
    ids = [job.job_id for job in jobs]
    shown = ", ".join(ids[:JOB_IDS_SHOWN]) + (" ..." if len(ids) > JOB_IDS_SHOWN else "")
    return (
        f"Enqueued {len(ids)} jobs, batch {planned.batch_id} (the proposal showed "
        f"{payload['count']}); a daemon (`casparian start`) or `casparian process` runs them. "
        f"Job ids: {shown}"
    )


async def _replay_quarantine(service: CoreService, payload: Payload) -> str:
    from casparian_core.ai.tools.quarantine import replay_fingerprint

    plan = await service.replay.plan(**payload["filter"])
    if replay_fingerprint(plan) != {k: payload[k] for k in ("files", "versions")}:
        raise StaleActionError(
            "the quarantined files or the registered versions changed since the replay was "
            "proposed; ask again"
        )
    done = await service.replay.run(plan)
    failed = f"; {len(done.failed)} files failed: " if done.failed else ""
    failed += ", ".join(f"{f.path} ({f.error_code}: {f.message})" for f in done.failed[:5])
    return (
        f"Replayed {len(done.jobs)} files: {done.resolved} quarantined rows resolved, "
        f"{done.still_quarantined} still quarantined, {done.rows_added} rows added{failed}."
    )


def _write_parser(payload: Payload) -> str:
    path = Path(payload["path"])
    if path.exists():
        raise StaleActionError(f"{path} exists now; propose a patch of it instead")
    write_atomically(path, payload["source"])
    return f"Wrote {path}."


async def _register_parser(service: CoreService, payload: Payload) -> str:
    plan = await service.registry.prepare(Path(payload["path"]))
    if plan.artifact_sha256 != payload["artifact_sha256"]:
        raise StaleActionError(f"{payload['path']} changed since it was proposed; ask again")
    done = await service.registry.register(plan)
    return f"Registered {done.name} {done.version}; its contracts are approved."


def _patch_parser(service: CoreService, payload: Payload) -> str:
    path = Path(payload["path"])
    target = path.resolve()  # a symlinked parser: its target changes, the link stays
    if digest(target.read_text(encoding="utf-8")) != payload["old_sha256"]:
        raise StaleActionError(f"{path} changed since the patch was proposed; ask again")
    backup = back_up(target, service.settings.parsers_dir, service.clock())
    write_atomically(target, payload["source"], mode=target.stat().st_mode & 0o777)
    return f"Patched {path} (the previous version is in {backup})."


async def _retest(service: CoreService, parser: Path, test_input: Path, outcome: str) -> Applied:
    """Run the patched parser's test again, through the engine, as Parser Bench does."""
    try:
        result = await service.bench.test_parser(parser, test_input)
    except (CasparianError, OSError) as exc:
        return Applied(ActionStatus.APPROVED, f"{outcome} The test could not re-run: {exc}")
    line = f"{outcome} Test on {test_input.name}: {one_line(result)}."
    return Applied(ActionStatus.APPROVED, line, as_json(describe(result)))
