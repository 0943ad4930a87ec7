"""The client that reaches the Messages API, counting every byte it sends and receives
(request and response bodies), so the request log can say exactly how much left the machine.
Loaded with the first request: it loads the SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx2
from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient

from casparian_core.ai.request_log import ByteCount
from casparian_core.ai.settings import api_key, base_url
from casparian_core.config import Settings


class _CountingStream(httpx2.AsyncByteStream):
    """A response body that counts its bytes as the SDK reads them (a stream cut halfway still
    counts what arrived)."""

    def __init__(self, inner: httpx2.AsyncByteStream, count: ByteCount) -> None:
        self._inner = inner
        self._count = count

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._count.received += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def make_client(settings: Settings, env: Mapping[str, str], count: ByteCount) -> AsyncAnthropic:
    """An SDK client for the key and base URL in `env`. Retries are off: each failure is shown
    at once with a way to retry, and no request leaves unseen by the log."""

    async def sent(request: httpx2.Request) -> None:
        count.sent += len(request.content)

    async def received(response: httpx2.Response) -> None:
        response.stream = _CountingStream(response.stream, count)  # type: ignore[arg-type]

    timeout = settings.ai_timeout_secs
    http_client = DefaultAsyncHttpxClient(
        event_hooks={"request": [sent], "response": [received]},
        timeout=httpx2.Timeout(timeout, connect=min(10.0, timeout)),
    )
    return AsyncAnthropic(
        api_key=api_key(env),
        base_url=base_url(env),
        max_retries=0,
        timeout=settings.ai_timeout_secs,
        http_client=http_client,
    )
