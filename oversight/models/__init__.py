"""One interface to every model backend: `get_model("openai/gpt-4o-mini")`, `get_model("local/smollm2-135m")`..."""

from oversight.models.accounting import PriceTable, UsageLedger
from oversight.models.base import (
    MalformedResponseError,
    Model,
    ModelAPIError,
    ModelConfigError,
    ModelError,
    Provider,
    ScriptExhaustedError,
)
from oversight.models.cache import CallCache
from oversight.models.limits import EndpointLimits
from oversight.models.managed import ManagedModel
from oversight.models.registry import create_provider, get_model
from oversight.models.retry import RetryPolicy

__all__ = [
    "CallCache",
    "EndpointLimits",
    "MalformedResponseError",
    "ManagedModel",
    "Model",
    "ModelAPIError",
    "ModelConfigError",
    "ModelError",
    "PriceTable",
    "Provider",
    "RetryPolicy",
    "ScriptExhaustedError",
    "UsageLedger",
    "create_provider",
    "get_model",
]
