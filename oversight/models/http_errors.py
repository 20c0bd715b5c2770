"""Map the official HTTP SDKs' exceptions (OpenAI, Anthropic: both Stainless-generated) to our error types.

The SDK exceptions carry the request (with its `Authorization`/`x-api-key` header) and the raw body, so callers
must raise the returned error *outside* the `except` block (or `from None`), never chained to the SDK error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import Any

from pydantic import SecretStr, ValidationError

from oversight.models.base import MalformedResponseError, ModelAPIError, ModelError
from oversight.models.retry import parse_retry_after, status_is_retryable
from oversight.models.secrets import redact
from oversight.types import ModelOutput

#: What reading a 2xx body's fields can raise when the body is not what the API promises.
PARSE_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError, ValidationError)

_MAX_DETAIL = 300


def retry_after_from_headers(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` (preferred, as OpenAI sends it) or `Retry-After`; None if neither."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def error_detail(body: object) -> str:
    """The human-readable message of an error body: `{"error": {"message": ...}}` (OpenAI, Anthropic),
    `{"message": ...}` (vLLM) or `{"detail": ...}` (FastAPI); else the body itself, shortened."""
    detail: object = body
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping) and err.get("message"):
            detail = err["message"]
        elif isinstance(err, str) and err:
            detail = err
        elif body.get("message"):
            detail = body["message"]
        elif body.get("detail"):
            detail = body["detail"]
    text = "" if detail is None else str(detail)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def from_sdk_error(
    err: Exception, sdk: ModuleType, *, model: str, endpoint: str, secrets: tuple[SecretStr | str | None, ...] = ()
) -> ModelError:
    """Our error for an exception raised by the SDK module `sdk` (`openai` or `anthropic`).

    Status errors keep `status` and `Retry-After`; 408/409/429/5xx (incl. Anthropic's 529), timeouts and
    connection errors are retryable; a 2xx body the SDK could not validate is a `MalformedResponseError` (also
    retried).
    """
    if isinstance(err, sdk.APIResponseValidationError):
        return MalformedResponseError(
            redact(f"response body does not match the API schema: {err}", *secrets), model=model
        )
    if isinstance(err, sdk.APIStatusError):
        status = int(err.status_code)
        detail = redact(error_detail(err.body), *secrets)
        return ModelAPIError(
            f"HTTP {status} from {endpoint}" + (f": {detail}" if detail else ""),
            model=model,
            status=status,
            retryable=status_is_retryable(status),
            retry_after=retry_after_from_headers(err.response.headers),
        )
    if isinstance(err, sdk.APITimeoutError):
        return ModelAPIError(f"request to {endpoint} timed out", model=model, retryable=True, reason="timeout")
    if isinstance(err, sdk.APIConnectionError):
        cause = err.__cause__
        why = f" ({type(cause).__name__}: {redact(str(cause), *secrets)})" if cause is not None else ""
        return ModelAPIError(f"could not connect to {endpoint}{why}", model=model, retryable=True, reason="connection")
    return ModelAPIError(redact(f"{type(err).__name__}: {err}", *secrets), model=model)


def malformed(model: str, what: str) -> MalformedResponseError:
    """The error for a 2xx body that is not what the API promises; `what` says what was wrong."""
    return MalformedResponseError(f"malformed response: {what}", model=model)


async def call_sdk(
    send: Callable[[], Awaitable[Any]],
    to_output: Callable[[Any, float], ModelOutput],
    *,
    sdk: ModuleType,
    sdk_error: type[Exception],
    model: str,
    endpoint: str,
    secrets: tuple[SecretStr | str | None, ...] = (),
) -> ModelOutput:
    """`to_output(await send(), latency)`, with every failure turned into our error types.

    `sdk_error` is the SDK's base exception (`openai.OpenAIError`, `anthropic.AnthropicError`). The error is
    raised outside any `except` block, so it has neither `__cause__` nor `__context__` pointing at the SDK's.
    """
    error: ModelError | None = None
    start = time.perf_counter()
    try:
        response = await send()
    except sdk_error as err:
        error = from_sdk_error(err, sdk, model=model, endpoint=endpoint, secrets=secrets)
    except (json.JSONDecodeError, UnicodeDecodeError):
        error = malformed(model, "body is not valid JSON")
    latency = time.perf_counter() - start
    if error is None:
        try:
            return to_output(response, latency)
        except MalformedResponseError as err:
            error = err
        except PARSE_ERRORS as err:
            error = malformed(model, f"{type(err).__name__} while reading the body")
    raise error
