"""The part every SDK-backed API provider shares: base URL and key resolution, cache identity, closing the client."""

from __future__ import annotations

import os
from typing import Any

from pydantic import SecretStr

from oversight.models.base import Provider
from oversight.models.secrets import resolve_api_key


class HostedProvider(Provider):
    """An API reached over HTTP through an SDK client (`self._client`, set by the subclass).

    The base URL is `base_url`, else `$<base_url_env>`, else `default_base_url`; `endpoint` (what the
    concurrency limit is shared by) defaults to it. The key is resolved by `_resolve_api_key`.
    """

    api_key_env = ""
    base_url_env = ""
    default_base_url = ""
    _client: Any

    def __init__(
        self, model: str, *, base_url: str | None, api_key: str | SecretStr | None, timeout: float, endpoint: str | None
    ) -> None:
        url = (base_url or os.environ.get(self.base_url_env) or self.default_base_url).rstrip("/")
        super().__init__(model, endpoint or url)
        self.base_url = url
        self.timeout = timeout
        self._api_key = self._resolve_api_key(api_key)

    def _resolve_api_key(self, explicit: str | SecretStr | None) -> SecretStr:
        """The key to send; subclasses for servers that need none may return a placeholder instead of raising."""
        return resolve_api_key(self.provider, self.api_key_env, explicit)

    def cache_identity(self) -> str:
        # The same model name behind a different server is not necessarily the same model.
        return self.name if self.base_url == self.default_base_url else f"{self.name}@{self.base_url}"

    async def aclose(self) -> None:
        await self._client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, endpoint={self.endpoint!r})"
