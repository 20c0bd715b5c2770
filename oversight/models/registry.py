"""Model strings (`openai/gpt-4o-mini`, `local/smollm2-135m`, ...) -> managed providers.

One door in: `register_provider`, which the `oversight.providers` entry points (ours and third parties') feed
lazily. A provider is a `Provider` subclass; the prefix of a model string names it.
"""

from __future__ import annotations

from typing import Any

from oversight.models.accounting import UsageLedger
from oversight.models.base import ModelConfigError, Provider
from oversight.models.cache import CallCache
from oversight.models.limits import EndpointLimits
from oversight.models.managed import ManagedModel
from oversight.models.retry import RetryPolicy
from oversight.plugins import PROVIDERS_GROUP, entry_point_targets, load_target

#: prefix -> a `Provider` subclass, or the "module:Class" naming one (imported only when used, so a missing
#: optional backend breaks nothing else)
_PROVIDERS: dict[str, type[Provider] | str] = {}
_plugins_loaded = False


def register_provider(prefix: str, provider: type[Provider] | str, *, replace: bool = False) -> None:
    """Make model strings `prefix/NAME` use `provider` (a `Provider` subclass or its "module:Class" path).

    Raises ValueError for a prefix with "/" in it, or one already taken by another provider unless `replace`.
    """
    if not prefix or "/" in prefix:
        raise ValueError(f"provider prefix {prefix!r} must be non-empty and contain no '/'")
    _load_plugins()
    old = _PROVIDERS.get(prefix)
    if old is not None and not replace and old is not provider and old != provider:
        raise ValueError(f"provider {prefix!r} is already registered ({old}); pass replace=True")
    _PROVIDERS[prefix] = provider


def provider_prefixes() -> list[str]:
    """Every registered provider prefix, sorted."""
    _load_plugins()
    return sorted(_PROVIDERS)


def split_model_string(spec: str) -> tuple[str, str]:
    """`"openai/gpt-4o-mini"` -> `("openai", "gpt-4o-mini")`; raises `ModelConfigError` for unknown providers."""
    known = ", ".join(provider_prefixes())
    prefix, sep, rest = spec.partition("/")
    if not sep or not rest:
        raise ModelConfigError(f"model string {spec!r} must look like PROVIDER/NAME, with PROVIDER one of: {known}")
    if prefix not in _PROVIDERS:
        raise ModelConfigError(f"model string {spec!r}: unknown provider {prefix!r} (known: {known})")
    return prefix, rest


def provider_class(prefix: str) -> type[Provider]:
    """The `Provider` subclass registered as `prefix`; raises `ModelConfigError` if it cannot be imported."""
    _load_plugins()
    value = _PROVIDERS[prefix]
    if isinstance(value, str):
        try:
            value = load_target(value)
        except ImportError as err:
            raise ModelConfigError(f"provider {prefix!r} needs a package that is not installed: {err}") from None
        except (AttributeError, ValueError) as err:
            raise ModelConfigError(f"provider {prefix!r}: cannot load {_PROVIDERS[prefix]!r} ({err})") from None
        if not (isinstance(value, type) and issubclass(value, Provider)):
            raise ModelConfigError(f"provider {prefix!r}: {_PROVIDERS[prefix]!r} is not a Provider subclass")
        _PROVIDERS[prefix] = value
    return value


def _load_plugins() -> None:
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for prefix, target in entry_point_targets(PROVIDERS_GROUP).items():
            _PROVIDERS.setdefault(prefix, target)


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
