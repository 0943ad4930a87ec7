"""Whether the assistant can be used here, and the client settings that come from the
environment only: the key is never a setting, so it is never written to config.toml by us."""

from __future__ import annotations

from collections.abc import Mapping

from casparian_core.ai.conversation import AssistantStatus
from casparian_core.config import Settings

KEY_VARIABLE = "ANTHROPIC_API_KEY"
BASE_URL_VARIABLE = "ANTHROPIC_BASE_URL"

NO_KEY = (
    f"Set {KEY_VARIABLE} in the environment that starts casparian (and {BASE_URL_VARIABLE} "
    "for an on-premise gateway); `ai_enabled = false` in config.toml turns the assistant off."
)
DISABLED = (
    "The assistant is turned off (`ai_enabled = false` in config.toml or "
    "CASPARIAN_AI_ENABLED=false): set it to true to use it."
)


def api_key(env: Mapping[str, str]) -> str | None:
    return env.get(KEY_VARIABLE) or None


def base_url(env: Mapping[str, str]) -> str | None:
    return env.get(BASE_URL_VARIABLE) or None


def assistant_status(settings: Settings, env: Mapping[str, str]) -> AssistantStatus:
    configured = api_key(env) is not None
    problem = DISABLED if not settings.ai_enabled else None if configured else NO_KEY
    return AssistantStatus(
        enabled=settings.ai_enabled,
        configured=configured,
        model=settings.ai_model,
        problem=problem,
    )
