"""`openai/<model>`: the Chat Completions API through the official `openai` SDK (also the base of OpenAI-compatible
servers such as vLLM: subclass and override the class attributes or `_request_kwargs` / `_to_output`).

The SDK's own retries are off (`max_retries=0`): retries live once, in `oversight.models.retry`.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
from pydantic import SecretStr

from oversight.models.hosted import HostedProvider
from oversight.models.http_errors import call_sdk, malformed
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, TokenLogprob, TopLogprob, Usage


class OpenAIProvider(HostedProvider):
    """Chat Completions over `AsyncOpenAI`. The base URL is `base_url`, else `$OPENAI_BASE_URL`, else OpenAI's;
    the key is `api_key`, else `$OPENAI_API_KEY`, else `[keys].openai` in the config file.

    `endpoint` (what the concurrency limit is shared by) defaults to the base URL; `http_client` is an optional
    `httpx2.AsyncClient` (proxies, custom TLS). `extra_headers` are sent with every request.
    """

    provider = "openai"
    api_key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    default_base_url = "https://api.openai.com/v1"
    #: Name of the output-length parameter (`max_tokens` is deprecated by OpenAI; servers may differ).
    max_tokens_param = "max_completion_tokens"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        timeout: float = 120.0,
        organization: str | None = None,
        extra_headers: dict[str, str] | None = None,
        http_client: httpx2.AsyncClient | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(model, base_url=base_url, api_key=api_key, timeout=timeout, endpoint=endpoint)
        self._client = openai.AsyncOpenAI(
            api_key=self._api_key.get_secret_value(),
            base_url=self.base_url,
            organization=organization,
            timeout=timeout,
            max_retries=0,
            default_headers=extra_headers,
            http_client=http_client,
        )

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        kwargs = self._request_kwargs(messages, config)
        return await call_sdk(
            lambda: self._client.chat.completions.create(**kwargs),
            self._to_output,
            sdk=openai,
            sdk_error=openai.OpenAIError,
            model=self.name,
            endpoint=self.endpoint,
            secrets=(self._api_key,),
        )

    def _request_kwargs(self, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        """Keyword arguments of `chat.completions.create` for this call. `config.extra` goes into the JSON body."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": config.temperature,
            self.max_tokens_param: config.max_tokens,
        }
        if config.seed is not None:
            kwargs["seed"] = config.seed
        if config.stop:
            kwargs["stop"] = list(config.stop)
        if config.logprobs:
            kwargs["logprobs"] = True
            if config.top_logprobs is not None:
                kwargs["top_logprobs"] = config.top_logprobs
        if config.extra:
            kwargs["extra_body"] = dict(config.extra)
        return kwargs

    def _to_output(self, response: Any, latency: float) -> ModelOutput:
        """Our output for a `ChatCompletion`; raises `MalformedResponseError` (or an attribute/type error, which
        `call_sdk` turns into one) when the body lacks what the API promises."""
        if not isinstance(response, openai.types.chat.ChatCompletion):
            raise malformed(self.name, f"expected a JSON chat completion, got {type(response).__name__}")
        choices = response.choices
        if not isinstance(choices, list) or not choices:
            raise malformed(self.name, "no choices")
        choice = choices[0]
        text = choice.message.content
        if text is None:
            text = ""
        elif not isinstance(text, str):
            raise malformed(self.name, f"message content is {type(text).__name__}, not a string")
        usage = response.usage
        return ModelOutput(
            text=text,
            model=self.name,
            logprobs=_token_logprobs(choice.logprobs),
            usage=Usage(
                input_tokens=(usage.prompt_tokens or 0) if usage is not None else 0,
                output_tokens=(usage.completion_tokens or 0) if usage is not None else 0,
            ),
            latency=latency,
            finish_reason=choice.finish_reason,
        )


def _token_logprobs(logprobs: Any) -> list[TokenLogprob] | None:
    """`choice.logprobs.content` as our `TokenLogprob`s; None when the server sent none."""
    if logprobs is None or logprobs.content is None:
        return None
    return [
        TokenLogprob(
            token=t.token,
            logprob=t.logprob,
            top=[TopLogprob(token=a.token, logprob=a.logprob) for a in (t.top_logprobs or [])],
        )
        for t in logprobs.content
    ]
