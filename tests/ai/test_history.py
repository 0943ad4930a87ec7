"""Trimming the conversation to the context budget: oldest turns first, then the current turn's
older tool results; the history stays valid (every tool call keeps its result)."""

from __future__ import annotations

from casparian_core.ai.history import LEFT_OUT, History


def tool_round(call_id: str, size: int) -> list[dict[str, object]]:
    call = {"type": "tool_use", "id": call_id, "name": "list_files", "input": {}}
    result = {"type": "tool_result", "tool_use_id": call_id, "content": "x" * size}
    return [{"role": "assistant", "content": [call]}, {"role": "user", "content": [result]}]


def test_old_turns_go_first_and_the_latest_turn_always_stays() -> None:
    history = History()
    for number in range(3):
        history.begin_turn(f"question {number} " + "q" * 1000)
        history.add({"role": "assistant", "content": [{"type": "text", "text": "a" * 1000}]})
    history.begin_turn("question 3")

    kept = history.trimmed(budget_bytes=2500)

    assert kept.turns_left_out == 2 and kept.results_left_out == 0
    assert kept.messages[0]["content"].startswith("question 2")
    assert kept.messages[-1] == {"role": "user", "content": "question 3"}
    assert len(history.trimmed(budget_bytes=10_000_000).messages) == 7  # nothing left out


def test_a_turn_too_long_alone_loses_its_older_tool_results_not_its_latest() -> None:
    history = History()
    history.begin_turn("look at everything")
    for number in range(3):
        for message in tool_round(f"call_{number}", 5000):
            history.add(message)

    kept = history.trimmed(budget_bytes=8000)

    rounds = [m for m in kept.messages if m["role"] == "user" and isinstance(m["content"], list)]
    results = [m["content"][0]["content"] for m in rounds]
    assert results == [LEFT_OUT, LEFT_OUT, "x" * 5000]
    assert kept.results_left_out == 2
    assert history.turns[0][2]["content"][0]["content"] == "x" * 5000  # the history is kept whole
