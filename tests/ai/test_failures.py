"""Every way a request can fail ends as AssistantFailed with its kind, never as an exception
out of send; the failed turn can be retried, and the conversation stays usable."""

from __future__ import annotations

from pathlib import Path

import pytest

from casparian_core.api import (
    AssistantContext,
    ErrorEntry,
    FailureKind,
    TextEntry,
    ToolCallEntry,
    UserEntry,
)
from casparian_core.config import load_settings
from casparian_core.errors import DatabaseWriteError
from casparian_core.events import (
    AssistantFailed,
    AssistantText,
    AssistantToolCall,
    AssistantTurnEnded,
    Event,
)
from casparian_core.service import CoreService
from tests.conftest import fixed_clock
from tests.fake_anthropic import (
    FakeAnthropic,
    Reply,
    cut_reply,
    error_reply,
    hang_reply,
    malformed_reply,
    rate_limited,
    server_error,
    text_reply,
    tool_call,
    tool_reply,
)

HOME = AssistantContext(mode="home")


def failures(published: list[Event]) -> list[AssistantFailed]:
    return [e for e in published if isinstance(e, AssistantFailed)]


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        (server_error(), FailureKind.SERVER, "500"),
        (error_reply(529, "Overloaded", "overloaded_error"), FailureKind.SERVER, "Overloaded"),
        (error_reply(404, "model: nope", "not_found_error"), FailureKind.REFUSED, "ai_model"),
        (malformed_reply(), FailureKind.MALFORMED, "could not be read"),
        (
            cut_reply(text_reply("Half of an answer that never ends"), 6),
            FailureKind.STREAM_CUT,
            "cut",
        ),
    ],
)
async def test_a_failed_request_is_published_and_retry_sends_the_turn_again(
    ai_service: CoreService,
    fake: FakeAnthropic,
    published: list[Event],
    reply: Reply,
    kind: FailureKind,
    words: str,
) -> None:
    fake.script(reply)

    await ai_service.assistant.send("Hello?", HOME)

    [failed] = failures(published)
    assert failed.failure.kind is kind and words in failed.failure.message
    assert "retry" in failed.failure.message
    assert isinstance(ai_service.assistant.transcript()[-1], ErrorEntry)
    [logged] = await ai_service.assistant.request_log(limit=5)
    assert logged.outcome == kind

    fake.script(text_reply("Hello!"))
    await ai_service.assistant.retry()

    ended = published[-1]
    assert isinstance(ended, AssistantTurnEnded)
    assert ai_service.assistant.transcript()[-1] == TextEntry(ended.turn_id, "Hello!")
    # The failed turn left nothing behind: the retry sends one user message.
    assert fake.requests[-1].body["messages"] == [{"role": "user", "content": "Hello?"}]


async def test_a_stream_cut_halfway_keeps_the_text_that_arrived(
    ai_service: CoreService, fake: FakeAnthropic, published: list[Event]
) -> None:
    fake.script(cut_reply(text_reply("Half of an answer that never ends", chunk_chars=5), 5))

    await ai_service.assistant.send("Hello?", HOME)

    shown = "".join(e.delta for e in published if isinstance(e, AssistantText))
    assert shown == "Half of an answ"  # three fragments arrived before the cut
    [failed] = failures(published)
    assert failed.failure.kind is FailureKind.STREAM_CUT


async def test_a_rate_limit_shows_the_retry_after(
    ai_service: CoreService, fake: FakeAnthropic, published: list[Event]
) -> None:
    fake.script(rate_limited(retry_after=7))

    await ai_service.assistant.send("Hello?", HOME)

    [failed] = failures(published)
    assert failed.failure.kind is FailureKind.RATE_LIMITED
    assert failed.failure.retry_after_secs == 7.0 and "Retry after 7 s" in failed.failure.message
    assert len(fake.requests) == 1  # the SDK did not retry behind the user's back


async def test_a_wrong_key_is_refused_with_a_hint(
    ai_service: CoreService,
    fake: FakeAnthropic,
    published: list[Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wrong")
    async with CoreService(ai_service.settings, clock=fixed_clock) as other:
        other.subscribe(published.append)
        await other.assistant.send("Hello?", HOME)
    [failed] = failures(published)
    assert (
        failed.failure.kind is FailureKind.REFUSED and "ANTHROPIC_API_KEY" in failed.failure.message
    )


async def test_a_server_that_never_answers_times_out(home: Path, fake: FakeAnthropic) -> None:
    (home / "config.toml").write_text("ai_timeout_secs = 2\n")
    published: list[Event] = []
    async with CoreService(load_settings(env={}, home=home), clock=fixed_clock) as service:
        service.subscribe(published.append)
        fake.script(hang_reply())
        await service.assistant.send("Hello?", HOME)
    [failed] = failures(published)
    assert failed.failure.kind is FailureKind.TIMEOUT


async def test_nothing_listening_is_a_network_failure(
    ai_service: CoreService, published: list[Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # discard: nothing listens
    async with CoreService(ai_service.settings, clock=fixed_clock) as other:
        other.subscribe(published.append)
        await other.assistant.send("Hello?", HOME)
    [failed] = failures(published)
    assert (
        failed.failure.kind is FailureKind.NETWORK
        and "ANTHROPIC_BASE_URL" in failed.failure.message
    )


async def test_a_tool_that_raises_fails_the_turn_and_retry_recovers(
    ai_service: CoreService,
    fake: FakeAnthropic,
    published: list[Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken() -> None:
        raise RuntimeError("the disk went away")

    fake.script(tool_reply(tool_call("list_sources", {})))
    with monkeypatch.context() as patched:
        patched.setattr(ai_service.scout, "sources", broken)
        await ai_service.assistant.send("Which sources?", HOME)

    [failed] = failures(published)
    assert failed.failure.kind is FailureKind.TOOL_FAILED
    assert (
        "list_sources" in failed.failure.message and "the disk went away" in failed.failure.message
    )
    fake.script(tool_reply(tool_call("list_sources", {})), text_reply("None yet."))
    await ai_service.assistant.retry()
    answer = ai_service.assistant.transcript()[-1]
    assert isinstance(answer, TextEntry) and answer.text == "None yet."


async def test_a_tools_own_error_goes_back_to_the_model_and_the_turn_goes_on(
    ai_service: CoreService, fake: FakeAnthropic, published: list[Event]
) -> None:
    fake.script(
        tool_reply(tool_call("file_head", {"file_id": 999})),
        tool_reply(tool_call("no_such_tool", {})),
        text_reply("That file is not catalogued."),
    )

    await ai_service.assistant.send("Show file 999", HOME)

    assert failures(published) == []
    [missing] = fake.requests[1].tool_results()
    assert missing["is_error"] and "no catalogued file with id 999" in missing["content"]
    [unknown] = fake.requests[2].tool_results()
    assert unknown["is_error"] and "There is no tool 'no_such_tool'" in unknown["content"]


async def test_a_long_conversation_is_trimmed_with_a_note_never_an_error(
    home: Path, fake: FakeAnthropic
) -> None:
    (home / "config.toml").write_text("ai_context_tokens = 12000\nai_max_tokens = 1000\n")
    published: list[Event] = []
    async with CoreService(load_settings(env={}, home=home), clock=fixed_clock) as service:
        service.subscribe(published.append)
        for number in range(4):
            fake.script(text_reply(f"Answer {number}. " + "x" * 20_000))
            await service.assistant.send(f"Question {number}", HOME)
        notes = [e.text for e in published if type(e).__name__ == "AssistantNote"]
    assert failures(published) == []
    assert notes and "left out to fit the model's context" in notes[0]
    last = fake.requests[-1].body["messages"]
    assert last[-1] == {"role": "user", "content": "Question 3"}
    assert len(last) < 7  # the earliest turns were left out


async def test_a_local_failure_such_as_the_database_is_shown_not_raised(
    ai_service: CoreService,
    fake: FakeAnthropic,
    published: list[Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def full_disk(request: object) -> None:
        raise DatabaseWriteError("The control database could not be written: the disk is full.")

    monkeypatch.setattr(ai_service.assistant, "_log", full_disk)
    fake.script(text_reply("Hello!"))

    await ai_service.assistant.send("Hello?", HOME)

    [failed] = failures(published)
    assert failed.failure.kind is FailureKind.INTERNAL and "disk is full" in failed.failure.message


async def test_retry_after_a_cut_stream_goes_on_from_the_tool_results_it_had(
    ai_service: CoreService, fake: FakeAnthropic, published: list[Event]
) -> None:
    fake.script(
        tool_reply(tool_call("list_sources", {}), text="Let me look."),
        cut_reply(text_reply("There are no sources yet, so", chunk_chars=5), 5),
    )
    await ai_service.assistant.send("Which sources?", HOME)
    [failed] = failures(published)
    assert failed.failure.kind is FailureKind.STREAM_CUT

    fake.script(text_reply("There are no sources yet."))
    await ai_service.assistant.retry()

    # The retry sent the cut request again, tool result included; the tool did not run again.
    assert len(fake.requests) == 3
    assert fake.requests[-1].body == fake.requests[1].body
    assert sum(isinstance(e, AssistantToolCall) for e in published) == 1
    # One question, one tool call, one answer (the cut text replaced), the error kept.
    entries = ai_service.assistant.transcript()
    assert [type(e) for e in entries] == [
        UserEntry,
        TextEntry,
        ToolCallEntry,
        ErrorEntry,
        TextEntry,
    ]
    assert [e.text for e in entries if isinstance(e, TextEntry)] == [
        "Let me look.",
        "There are no sources yet.",
    ]
    assert published[-1] == AssistantTurnEnded(failed.turn_id, cancelled=False)
    # The next turn builds on the whole of it.
    fake.script(text_reply("Scan one with s."))
    await ai_service.assistant.send("How do I add one?", HOME)
    roles = [m["role"] for m in fake.requests[-1].body["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]


async def test_a_new_message_after_a_failure_leaves_the_failed_turn_out(
    ai_service: CoreService, fake: FakeAnthropic
) -> None:
    fake.script(
        tool_reply(tool_call("list_sources", {})),
        cut_reply(text_reply("There are no"), 5),
        text_reply("Hello!"),
    )
    await ai_service.assistant.send("Which sources?", HOME)

    await ai_service.assistant.send("Hello?", HOME)

    assert fake.requests[-1].body["messages"] == [{"role": "user", "content": "Hello?"}]
    await ai_service.assistant.retry()  # nothing failed since: nothing is sent
    assert len(fake.requests) == 3
