"""Model strings (`openai/gpt-4o-mini`, `local/smollm2-135m`, ...) -> managed providers."""

from __future__ import annotations

import importlib
from typing import Any

from oversight.models.accounting import UsageLedger
from oversight.models.base import ModelConfigError, Provider
from oversight.models.cache import CallCache
from oversight.models.limits import EndpointLimits
from oversight.models.managed import ManagedModel
from oversight.models.retry import RetryPolicy

#: prefix -> "module:Class"; imported only when used, so a missing optional backend breaks nothing else.
PROVIDERS: dict[str, str] = {
    "openai": "oversight.models.openai_api:OpenAIProvider",
    "anthropic": "oversight.models.anthropic_api:AnthropicProvider",
    "vllm": "oversight.models.vllm:VLLMProvider",
    "local": "oversight.models.llamacpp:LlamaCppProvider",
    "scripted": "oversight.models.scripted:ScriptedProvider",
}


def split_model_string(spec: str) -> tuple[str, str]:
    """`"openai/gpt-4o-mini"` -> `("openai", "gpt-4o-mini")`; raises `ModelConfigError` for unknown providers."""
    prefix, sep, rest = spec.partition("/")
    if not sep or not rest:
        raise ModelConfigError(
            f"model string {spec!r} must look like PROVIDER/NAME, with PROVIDER one of: {', '.join(PROVIDERS)}"
        )
    if prefix not in PROVIDERS:
        raise ModelConfigError(f"model string {spec!r}: unknown provider {prefix!r} (known: {', '.join(PROVIDERS)})")
    return prefix, rest


def provider_class(prefix: str) -> type[Provider]:
    module, _, cls = PROVIDERS[prefix].partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as err:
        raise ModelConfigError(f"provider {prefix!r} needs a package that is not installed: {err}") from None


def create_provider(spec: str, **options: Any) -> Provider:
    """The bare backend for `spec` (no middleware). Options are the provider's keyword arguments."""
    prefix, name = split_model_string(spec)
    cls = provider_class(prefix)
    try:
        return cls(name, **options)  # type: ignore[call-arg]
    except TypeError as err:
        raise ModelConfigError(f"{spec}: bad option ({err})") from None


def get_model(
    spec: str,
    *,
    role: str = "default",
    cache: CallCache | None = None,
    limits: EndpointLimits | None = None,
    retry: RetryPolicy | None = None,
    ledger: UsageLedger | None = None,
    **options: Any,
) -> ManagedModel:
    """A ready `Model` for `spec`, wrapped with limits, retries, the call cache and accounting.

    Provider options (e.g. `base_url`, `api_key`, `outputs`, `n_ctx`) pass through `**options`.
    Raises `ModelConfigError` for unknown providers, bad options or missing keys/files.
    """
    provider = create_provider(spec, **options)
    return ManagedModel(provider, role=role, cache=cache, limits=limits, retry=retry, ledger=ledger)
