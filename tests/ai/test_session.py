"""The assistant's session against the fake Messages API: streaming, status, transcript."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from casparian_core.api import AssistantContext, ErrorEntry, FailureKind, TextEntry, UserEntry
from casparian_core.config import load_settings
from casparian_core.errors import AssistantBusyError
from casparian_core.events import (
    AssistantFailed,
    AssistantText,
    AssistantTurnEnded,
    AssistantTurnStarted,
    Event,
)
from casparian_core.service import CoreService
from tests.fake_anthropic import FakeAnthropic, hang_reply, text_reply


async def test_a_question_streams_its_answer_as_text_events(
    ai_service: CoreService, fake: FakeAnthropic, published: list[Event]
) -> None:
    fake.script(text_reply("There are **three** sources here.", chunk_chars=5))

    await ai_service.assistant.send("What is here?", AssistantContext(mode="home"))

    texts = [e for e in published if isinstance(e, AssistantText)]
    assert not [e for e in published if type(e).__name__ == "AssistantFailed"], published
    assert len(texts) == 7  # fragments of 5 characters, each as it arrived
    assert "".join(t.delta for t in texts) == "There are **three** sources here."
    assert isinstance(published[0], AssistantTurnStarted)
    assert published[-1] == AssistantTurnEnded(published[0].turn_id, cancelled=False)
    assert ai_service.assistant.transcript() == [
        UserEntry("What is here?"),
        TextEntry(published[0].turn_id, "There are **three** sources here."),
    ]


async def test_without_a_key_the_status_says_how_to_configure_and_send_fails_inline(
    service: CoreService,
) -> None:
    status = service.assistant.status()
    assert (status.enabled, status.configured, status.model) == (True, False, "claude-sonnet-4-5")
    assert status.problem is not None and "ANTHROPIC_API_KEY" in status.problem

    failed: list[Event] = []
    service.subscribe(failed.append, AssistantFailed)
    await service.assistant.send("hello", AssistantContext(mode="home"))

    assert [e.failure.kind for e in failed if isinstance(e, AssistantFailed)] == [
        FailureKind.NOT_CONFIGURED
    ]
    assert isinstance(service.assistant.transcript()[-1], ErrorEntry)


async def test_turned_off_in_the_settings_the_assistant_says_so(
    home: Path, fake: FakeAnthropic
) -> None:
    (home / "config.toml").write_text("ai_enabled = false\n")
    async with CoreService(load_settings(env={}, home=home)) as service:
        status = service.assistant.status()
        assert (status.enabled, status.configured) == (False, True)
        assert status.problem is not None and "ai_enabled" in status.problem
        await service.assistant.send("hello", AssistantContext(mode="home"))
    assert fake.requests == []  # nothing left the machine


def test_each_mode_offers_its_starter_prompts(service: CoreService) -> None:
    assert "Write a parser for these files" in service.assistant.starter_prompts("discover")
    assert "Why did this test fail?" in service.assistant.starter_prompts("parser_bench")
    assert service.assistant.starter_prompts("nowhere") == service.assistant.starter_prompts("home")


async def test_a_second_message_while_one_runs_is_refused_and_cancel_stops_the_first(
    ai_service: CoreService, fake: FakeAnthropic, published: list[Event]
) -> None:
    fake.script(hang_reply())
    first = asyncio.create_task(ai_service.assistant.send("one", AssistantContext(mode="home")))
    await asyncio.to_thread(fake.wait_for_requests, 1)  # the model is answering
    with pytest.raises(AssistantBusyError):
        await ai_service.assistant.send("two", AssistantContext(mode="home"))
    ai_service.assistant.cancel()
    await first  # a turn cancelled by cancel() ends quietly
    assert published[-1] == AssistantTurnEnded(published[0].turn_id, cancelled=True)
    assert [type(e) for e in ai_service.assistant.transcript()] == [UserEntry]
    assert len(fake.requests) == 1


async def test_cancelling_the_callers_task_cancels_the_turn_and_logs_it(
    ai_service: CoreService, fake: FakeAnthropic, published: list[Event]
) -> None:
    fake.script(hang_reply())
    caller = asyncio.create_task(ai_service.assistant.send("one", AssistantContext(mode="home")))
    await asyncio.to_thread(fake.wait_for_requests, 1)

    caller.cancel()

    with pytest.raises(asyncio.CancelledError):
        await caller
    assert published[-1] == AssistantTurnEnded(published[0].turn_id, cancelled=True)
    [logged] = await ai_service.assistant.request_log(limit=5)
    assert logged.outcome == "cancelled" and logged.bytes_sent == len(fake.raw_bodies[0])
    fake.script(text_reply("Two."))
    await ai_service.assistant.send("two", AssistantContext(mode="home"))  # the slot is free
    assert fake.requests[-1].body["messages"] == [{"role": "user", "content": "two"}]
