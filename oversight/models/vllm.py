"""`vllm/<served-name>`: an OpenAI-compatible vLLM server, reached by base URL or launched on first use.

    get_model("vllm/smollm2", base_url="http://gpu1:8000/v1")
    get_model("vllm/smollm2", base_url=["http://gpu1:8000/v1", "http://gpu2:8000/v1"])   # spread load
    get_model("vllm/smollm2", launch={"model_dir": ".cache/models/smollm2-135m", "extra_args": ["--enforce-eager"]})

HTTP, request building, response mapping and error mapping are `OpenAIProvider`'s (one per server). vLLM's
sampling extras go in `GenerateConfig.extra` and are sent in the JSON body; the pre-0.12 `guided_*` fields, which
vLLM >= 0.12 silently ignores, are rewritten into `structured_outputs` unless `guided="pass"`.

With several servers, each call goes to the one with the fewest requests in flight (ties: round-robin), or
strictly round-robin with `balance="round_robin"`. Each server is its own endpoint, so the per-endpoint
concurrency limit of `ManagedModel` applies per server: for each attempt the middleware asks `pick_endpoint()`
and holds that server's limit while `generate_at(url, ...)` runs there.

Inside an experiment's episode (`oversight.models.routing`) routing is sticky under the default balance: an
episode's first call picks a server — the one that last ran the same question, if its load is within one call of
the least-loaded server's, else the least-loaded — and its later calls go there too, so each turn meets its
transcript's prefix in that server's prefix cache. A call that fails with a retryable error moves the episode to the
least-loaded other server, so its retry (and its later calls) go there.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import SecretStr

from oversight.models.base import ModelConfigError, ModelError, Provider
from oversight.models.openai_api import OpenAIProvider
from oversight.models.routing import GroupServers, current_route
from oversight.models.vllm_launcher import VLLMServer
from oversight.types import ChatMessage, GenerateConfig, ModelOutput

#: Pre-0.12 request fields -> keys of `structured_outputs` (https://docs.vllm.ai/en/latest/features/structured_outputs/).
GUIDED_TO_STRUCTURED = {
    "guided_json": "json",
    "guided_regex": "regex",
    "guided_choice": "choice",
    "guided_grammar": "grammar",
    "guided_whitespace_pattern": "whitespace_pattern",
}
#: Options of `launch=`: `model_dir`, and `VLLMServer` keyword arguments of the same names.
LAUNCH_KEYS = frozenset(
    ("model_dir", "command", "extra_args", "env", "startup_timeout", "stop_timeout", "host", "port", "log_path")
)
NO_KEY = "EMPTY"  # vLLM checks no key unless started with --api-key; the SDK insists on sending one


def translate_guided(extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` with `guided_*` fields moved into `structured_outputs` and `guided_decoding_backend` dropped."""
    if not any(k in extra for k in (*GUIDED_TO_STRUCTURED, "guided_decoding_backend")):
        return extra
    body = {k: v for k, v in extra.items() if k not in GUIDED_TO_STRUCTURED and k != "guided_decoding_backend"}
    structured = dict(body.get("structured_outputs") or {})
    for old, new in GUIDED_TO_STRUCTURED.items():
        if old in extra:
            if new in structured:
                raise ModelConfigError(f"both {old} and structured_outputs.{new} given; use one")
            structured[new] = extra[old]
    body["structured_outputs"] = structured
    return body


class VLLMServerClient(OpenAIProvider):
    """`OpenAIProvider` for one vLLM server: key optional (`$VLLM_API_KEY`, else a placeholder), `max_tokens`
    (accepted by every vLLM version) and the `guided_*` rewrite."""

    provider = "vllm"
    free = True  # self-hosted: no per-token price
    api_key_env = "VLLM_API_KEY"
    base_url_env = "VLLM_BASE_URL"
    default_base_url = "http://127.0.0.1:8000/v1"
    max_tokens_param = "max_tokens"

    def __init__(self, model: str, *, guided: Literal["translate", "pass"] = "translate", **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.guided = guided

    def _resolve_api_key(self, explicit: str | SecretStr | None) -> SecretStr:
        if isinstance(explicit, SecretStr):
            return explicit
        return SecretStr(explicit or os.environ.get(self.api_key_env) or NO_KEY)

    def _request_kwargs(self, messages: list[ChatMessage], config: GenerateConfig) -> dict[str, Any]:
        kwargs = super()._request_kwargs(messages, config)
        if self.guided == "translate" and "extra_body" in kwargs:
            kwargs["extra_body"] = translate_guided(kwargs["extra_body"])
        return kwargs


class VLLMProvider(Provider):
    """Chat completions from one model served by one or more vLLM servers.

    Give `base_url` (one URL or a list; else `$VLLM_BASE_URL`) or `launch` (a dict: `model_dir` required, plus
    `command`, `extra_args`, `env`, `startup_timeout`, `stop_timeout`, `host`, `port`, `log_path`; see
    `VLLMServer`). A launched server starts on the first call and stops in `aclose()` (or at interpreter exit).
    `api_key` (else `$VLLM_API_KEY`) is optional; a launched server is started with it when given.
    """

    provider = "vllm"
    free = True  # self-hosted: no per-token price

    def __init__(
        self,
        model: str,
        *,
        base_url: str | Sequence[str] | None = None,
        launch: dict[str, Any] | None = None,
        api_key: str | SecretStr | None = None,
        timeout: float = 120.0,
        balance: Literal["least_in_flight", "round_robin"] = "least_in_flight",
        guided: Literal["translate", "pass"] = "translate",
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        if balance not in ("least_in_flight", "round_robin"):
            raise ModelConfigError(f"vllm/{model}: balance must be 'least_in_flight' or 'round_robin'")
        if guided not in ("translate", "pass"):
            raise ModelConfigError(f"vllm/{model}: guided must be 'translate' or 'pass'")
        self.server: VLLMServer | None = None
        if launch is not None:
            if base_url is not None:
                raise ModelConfigError(f"vllm/{model}: give base_url or launch, not both")
            self.server = _make_server(model, launch, api_key)
            urls = [self.server.base_url]
        elif isinstance(base_url, str):
            urls = [base_url]
        elif base_url is not None:
            urls = list(base_url)
        elif os.environ.get(VLLMServerClient.base_url_env):
            urls = [os.environ[VLLMServerClient.base_url_env]]
        else:
            raise ModelConfigError(f"vllm/{model}: give base_url=... (or set $VLLM_BASE_URL) or launch={{...}}")
        urls = [u.rstrip("/") for u in urls]
        if not urls:
            raise ModelConfigError(f"vllm/{model}: base_url list is empty")
        if len(set(urls)) != len(urls):
            raise ModelConfigError(f"vllm/{model}: a base_url is listed twice: {urls}")
        self.clients = [
            VLLMServerClient(
                model, base_url=u, api_key=api_key, timeout=timeout, guided=guided, extra_headers=extra_headers
            )
            for u in urls
        ]
        self.urls = urls
        self.balance = balance
        self.in_flight = {u: 0 for u in urls}
        self.calls = {u: 0 for u in urls}
        self._rotation = itertools.cycle(range(len(urls)))
        self._groups = GroupServers()
        self._start_lock: asyncio.Lock | None = None
        self._start_error: ModelError | None = None
        super().__init__(model, urls[0])
        self._identity = f"{self.name}@{self.server.model_dir if self.server else ','.join(sorted(set(urls)))}"

    def pick_endpoint(self) -> str:
        if len(self.urls) == 1:
            return self.urls[0]
        route = current_route() if self.balance == "least_in_flight" else None
        if route is None:
            return self._pick()
        server = route.servers.get(id(self))
        if server is None:
            server = self._pick()
            last = self._groups.get(route.group) if route.group else None
            if last is not None and self.in_flight[last] <= self.in_flight[server] + 1:
                server = last  # its prefix cache may still hold this question's passage
            route.servers[id(self)] = server
            if route.group:
                self._groups.remember(route.group, server)
        return server

    def endpoints(self) -> list[str]:
        return list(self.urls)

    def _pick(self) -> str:
        start = next(self._rotation)
        order = [self.urls[(start + i) % len(self.urls)] for i in range(len(self.urls))]
        if self.balance == "round_robin":
            return order[0]
        return min(order, key=lambda u: self.in_flight[u])  # min keeps the first of equals: ties rotate

    def cache_identity(self) -> str:
        return self._identity

    async def generate(self, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        return await self.generate_at(self.pick_endpoint(), messages, config)

    async def generate_at(self, url: str, messages: list[ChatMessage], config: GenerateConfig) -> ModelOutput:
        if self.server is not None and not self.server.ready:
            await self._ensure_started()
        client = self.clients[self.urls.index(url)]
        self.in_flight[url] += 1
        self.calls[url] += 1
        try:
            return await client.generate(messages, config)
        except ModelError as err:
            route = current_route()
            if err.retryable and route is not None and route.servers.get(id(self)) == url:
                # this server may be down: the retry, and the episode's later calls, go to the least-loaded other
                moved = min((u for u in self.urls if u != url), key=self.in_flight.__getitem__)
                route.servers[id(self)] = moved
                if route.group:
                    self._groups.remember(route.group, moved)
            raise
        finally:
            self.in_flight[url] -= 1

    async def _ensure_started(self) -> None:
        assert self.server is not None
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._start_error is not None:
                raise self._start_error
            if self.server.ready:
                return
            if self.server.startup_seconds is not None:  # it was up, and has died since
                raise ModelConfigError(
                    f"vLLM server at {self.server.base_url} is no longer running (log: {self.server.log_path})",
                    model=self.name,
                )
            try:
                await self.server.start()
            except ModelError as err:
                self._start_error = err
                raise

    async def start(self) -> None:
        """Start the launched server now rather than on the first call (no-op for `base_url`)."""
        if self.server is not None and not self.server.ready:
            await self._ensure_started()

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
        if self.server is not None:
            await self.server.stop()

    def __repr__(self) -> str:
        where = repr(self.server) if self.server else ", ".join(self.urls)
        return f"VLLMProvider({self.model!r}, {where})"


def _make_server(model: str, launch: dict[str, Any], api_key: str | SecretStr | None) -> VLLMServer:
    unknown = set(launch) - LAUNCH_KEYS
    if unknown:
        known = ", ".join(sorted(LAUNCH_KEYS))
        raise ModelConfigError(f"vllm/{model}: unknown launch option(s) {sorted(unknown)}; known: {known}")
    if not launch.get("model_dir"):
        raise ModelConfigError(f"vllm/{model}: launch needs model_dir (a model folder vLLM can load)")
    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    opts = {k: v for k, v in launch.items() if k != "model_dir"}
    return VLLMServer(launch["model_dir"], served_name=model, api_key=key or os.environ.get("VLLM_API_KEY"), **opts)
