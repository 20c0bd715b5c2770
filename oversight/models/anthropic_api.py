"""`anthropic/<model>`: the Messages API through the official `anthropic` SDK (`AsyncAnthropic`, `max_retries=0`:
retries live once, in `oversight.models.retry`). Anthropic offers no logprobs and no seed: outputs carry
`logprobs=None` and a seed only takes part in the cache key.

`temperature` is no longer a keyword of `messages.create` in anthropic>=1 (the API deprecated it: newer models
reject non-default values), so it travels in the JSON body via `extra_body`; `send_temperature=False` leaves it
out for models that refuse it.
"""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
from pydantic import SecretStr

from oversight.models.base import ModelConfigError
from oversight.models.hosted import HostedProvider
from oversight.models.http_errors import call_sdk, malformed
from oversight.types import ChatMessage, GenerateConfig, ModelOutput, Usage

#: Anthropic's stop reasons in the vocabulary the other providers use; unknown ones pass through.
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


class AnthropicProvider(HostedProvider):
    """Messages API over `AsyncAnthropic`. The base URL is `base_url`, else `$ANTHROPIC_BASE_URL`, else
    Anthropic's; the key is `api_key`, else `$ANTHROPIC_API_KEY`, else `[keys].anthropic` in the config file.
    `send_temperature=False` omits `config.temperature` (for models that reject the parameter).
    """

    provider = "anthropic"
    api_key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    default_base_url = "https://api.anthropic.com"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        timeout: float = 120.0,
        extra_headers: dict[str, str] | None = None,
        http_client: httpx2.AsyncClient | None = None,
        endpoint: str | None = None,
        send_temperature: bool = True,
    ) -> None:
        super().__init__(model, base_url=base_url, api_key=api_key, timeout=timeout, endpoint=endpoint)
        self.send_temperature = send_temperature
        self._client = anthropic.AsyncAnthropic(
            api_key=self._api_key.get_secret_value(),
            base_url=self.base_url,
            timeout=timeout,
            max_retries=0,
            default_headers=extra_headers,
            http_client=http_client,
        )

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        kwargs = self._request_kwargs(messages, config)
        return await call_sdk(
            lambda: self._client.messages.create(**kwargs),
            self._to_output,
            sdk=anthropic,
            sdk_error=anthropic.AnthropicError,
            model=self.name,
            endpoint=self.endpoint,
            secrets=(self._api_key,),
        )

    def _request_kwargs(self, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        """Keyword arguments of `messages.create`: system messages joined into `system`, consecutive messages of
        one role merged into one turn (blank line between). `config.extra` goes into the JSON body."""
        if self.send_temperature and config.temperature > 1.0:
            raise ModelConfigError(f"temperature {config.temperature}: Anthropic accepts 0..1", model=self.name)
        system = [m.content for m in messages if m.role == "system"]
        turns: list[dict[str, str]] = []
        for m in messages:
            if m.role == "system":
                continue
            if turns and turns[-1]["role"] == m.role:
                turns[-1]["content"] += "\n\n" + m.content
            else:
                turns.append({"role": m.role, "content": m.content})
        if not turns:
            raise ModelConfigError("the Messages API needs at least one user or assistant message", model=self.name)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": turns,
            "max_tokens": config.max_tokens,
        }
        if system:
            kwargs["system"] = "\n\n".join(system)
        if config.stop:
            kwargs["stop_sequences"] = list(config.stop)
        body = {"temperature": config.temperature} if self.send_temperature else {}
        body.update(config.extra)
        if body:
            kwargs["extra_body"] = body
        return kwargs

    def _to_output(self, response: Any, latency: float) -> ModelOutput:
        """Our output for a `Message`: the text blocks joined; input tokens include cache reads and writes."""
        if not isinstance(response, anthropic.types.Message):
            raise malformed(self.name, f"expected a JSON message, got {type(response).__name__}")
        blocks = response.content
        if not isinstance(blocks, list):
            raise malformed(self.name, "no content list")
        texts = [b.text for b in blocks if getattr(b, "type", None) == "text"]
        if not all(isinstance(t, str) for t in texts):
            raise malformed(self.name, "a text block's text is not a string")
        usage = response.usage
        input_tokens = 0
        output_tokens = 0
        if usage is not None:
            input_tokens = sum(
                getattr(usage, f, None) or 0
                for f in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
            )
            output_tokens = usage.output_tokens or 0
        reason = response.stop_reason
        return ModelOutput(
            text="".join(texts),
            model=self.name,
            logprobs=None,
            usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
            latency=latency,
            finish_reason=FINISH_REASONS.get(reason, reason) if isinstance(reason, str) else reason,
        )
