"""respx for the official SDKs, which (openai>=3, anthropic>=2) send through `httpx2`, not `httpx`.

respx 0.23 patches only `httpx`/`httpcore`, so `respx.mock` alone never sees an SDK request. The `http_mock`
fixture patches `httpx2.AsyncHTTPTransport.handle_async_request` (the SDKs' default transport, the lowest layer
before the network) to hand each request to a `respx.Router`, converting request, response and transport
exceptions (`httpx.ReadTimeout` -> `httpx2.ReadTimeout`, ...) between the two libraries. Everything above the
socket (the real SDK, our provider, our middleware) runs unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import httpx2
import pytest
import respx


def _bridge(router: respx.Router):
    async def handle_async_request(self: httpx2.AsyncHTTPTransport, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        mirrored = httpx.Request(request.method, str(request.url), headers=list(request.headers.raw), content=body)
        try:
            response = await router.async_handler(mirrored)
        except httpx.TransportError as err:
            cls = getattr(httpx2, type(err).__name__, httpx2.TransportError)
            raise cls(str(err), request=request) from None
        return httpx2.Response(
            response.status_code,
            headers=[(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"],
            content=await response.aread(),
            request=request,
        )

    return handle_async_request


@pytest.fixture
def http_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.Router]:
    """A `respx.Router` that every `httpx2` request of the test goes to; unmatched requests fail the test."""
    router = respx.Router(assert_all_called=False, assert_all_mocked=True)
    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", _bridge(router))
    yield router


@pytest.fixture
def recorded_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits `ManagedModel`'s retry loop asked for, in order; the loop does not actually sleep."""
    from oversight.models import managed, retry

    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    def with_fake_sleep(call, policy, **kwargs):
        return retry.call_with_retries(call, policy, sleep=fake_sleep, **kwargs)

    monkeypatch.setattr(managed, "call_with_retries", with_fake_sleep)
    return waits
