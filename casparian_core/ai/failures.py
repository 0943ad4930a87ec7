"""What went wrong with a request, as a FailureKind and a sentence a user can act on. Every
exception a request or its stream can raise ends here, so none escapes `Assistant.send`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from casparian_core.ai.conversation import AssistantFailure, FailureKind

if TYPE_CHECKING:
    import anthropic

RETRY = "Press retry to send it again."


class StreamCutError(Exception):
    """The response ended before the API's `message_stop`: the connection was cut halfway."""


def classify(exc: Exception) -> AssistantFailure:
    """The failure `exc` (raised by the SDK, its HTTP client or its stream) stands for."""
    import anthropic
    import httpx2

    if isinstance(exc, StreamCutError):
        return _failure(FailureKind.STREAM_CUT, "The answer was cut off halfway.")
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return _failure(FailureKind.TIMEOUT, "The Anthropic API did not answer in time.")
    if isinstance(exc, anthropic.APIConnectionError):
        return _failure(
            FailureKind.NETWORK,
            f"Could not reach the Anthropic API ({_cause(exc)}): check the network "
            "and ANTHROPIC_BASE_URL.",
        )
    if isinstance(exc, httpx2.TransportError):  # raised while reading a stream already open
        return _failure(FailureKind.STREAM_CUT, f"The answer was cut off halfway ({exc}).")
    if isinstance(exc, anthropic.APIStatusError):
        return _status_failure(exc)
    return _failure(
        FailureKind.MALFORMED,
        f"The API sent a response that could not be read ({type(exc).__name__}: {exc}).",
    )


def _status_failure(exc: anthropic.APIStatusError) -> AssistantFailure:
    status = exc.status_code
    error_type = _error_type(exc.body)
    if status == 429 or error_type == "rate_limit_error":
        after = retry_after(exc.response.headers)
        wait = f" Retry after {after:g} s." if after is not None else ""
        return AssistantFailure(
            FailureKind.RATE_LIMITED,
            f"The Anthropic API is rate-limiting this key.{wait} {RETRY}",
            after,
        )
    if status >= 500 or status < 400:  # < 400: an `error` event inside a 200 stream
        return _failure(
            FailureKind.SERVER,
            f"The Anthropic API failed ({status if status >= 500 else error_type}: "
            f"{_error_message(exc)}).",
        )
    hint = {
        401: " Check ANTHROPIC_API_KEY, then retry.",
        403: " Check the key's permissions, then retry.",
        404: " Check `ai_model` in config.toml and ANTHROPIC_BASE_URL, then retry.",
    }.get(status, " Press retry to send it again.")
    return AssistantFailure(
        FailureKind.REFUSED,
        f"The Anthropic API refused the request ({status}: {_error_message(exc)}).{hint}",
    )


def retry_after(headers: object) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (the SDK's own order), when given."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = get(name)
        if value is not None:
            try:
                return float(value) * scale
            except ValueError:
                continue
    return None


def _failure(kind: FailureKind, message: str) -> AssistantFailure:
    return AssistantFailure(kind, f"{message} {RETRY}")


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return str(cause or exc) or type(cause or exc).__name__


def _error_type(body: object) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    return kind if isinstance(kind, str) else None


def _error_message(exc: anthropic.APIStatusError) -> str:
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else json.dumps(exc.body)[:200]
