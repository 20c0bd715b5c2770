"""A fault-injecting OpenAI-compatible Chat Completions server for tests: loopback only, one thread per connection.

`FaultServer(Faults(rate=0.2))` answers `POST /v1/chat/completions` like a real server, except that a share `rate`
of requests (per model: `Faults.per_model`) gets one of the faults below, chosen uniformly among `Faults.kinds`:

- `429`: rate limited, with a `Retry-After` header;  `500`, `503`: server errors with an OpenAI-style error body;
- `hang`: no answer for `Faults.hang` seconds (past the client's timeout), then the connection is closed;
- `truncated`: a 200 whose JSON body is cut in half (with a matching Content-Length);
- `malformed`: a 200 whose body is not JSON; `empty_choices`: a 200 with `"choices": []`;
- `drop`: the connection is closed without an answer.

Good answers are a pure function of the request (`reply_text`): "Answer: A" or "Answer: B" by a hash of the
messages, a stated confidence and a short reason, so a run's results do not depend on which calls were faulted.
`echo_secrets=True` makes error bodies quote the request's credentials, as a careless proxy might.
Counters (`served`, `faults`, `requests`) are kept under a lock for the test to compare with what the client saw.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("429", "500", "503", "hang", "truncated", "malformed", "empty_choices", "drop")


@dataclass
class Faults:
    """Which faults to inject, how often: `rate` for every model unless `per_model[model]` says otherwise."""

    rate: float = 0.0
    kinds: tuple[str, ...] = KINDS
    per_model: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    hang: float = 1.0  # seconds; keep it above the client's timeout
    retry_after: str = "0"
    echo_secrets: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")


def reply_text(messages: list[dict[str, Any]]) -> str:
    """The good answer to `messages`: a letter by a hash of them, a confidence and a reason."""
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
    letter = "AB"[int(digest[0], 16) % 2]
    return f"Answer: {letter}\nConfidence: 70%\nThe text supports answer {letter} ({digest[:8]})."


class FaultServer:
    """The server; `with FaultServer(faults) as server:` starts it on a free loopback port (`server.url`)."""

    def __init__(self, faults: Faults | None = None, reply: Callable[[list[dict[str, Any]]], str] = reply_text) -> None:
        self.faults = faults or Faults()
        self.reply = reply
        self.requests = 0
        self.served: Counter[str] = Counter()  # "ok" or the fault kind -> how many
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rng = random.Random(self.faults.seed)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def faults_served(self) -> int:
        with self._lock:
            return sum(n for kind, n in self.served.items() if kind != "ok")

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # releases hanging requests
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def choose(self, model: str) -> str:
        """ "ok" or the fault kind for the next request to `model` (and count it)."""
        rate = self.faults.per_model.get(model, self.faults.rate)
        with self._lock:
            self.requests += 1
            kind = "ok"
            if rate > 0 and self._rng.random() < rate:
                kind = self._rng.choice(self.faults.kinds)
            self.served[kind] += 1
            return kind

    def completion(self, model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        text = self.reply(messages)
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages)
        output = len(text.split())
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        return {
            "id": "chatcmpl-fault",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{**choice, "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output},
        }


def _handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with server._lock:
                server.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
            if not self.path.endswith("/chat/completions"):
                return self._json(404, {"error": {"message": f"no route {self.path}"}})
            model = str(body.get("model", ""))
            kind = server.choose(model)
            if kind == "ok":
                return self._json(200, server.completion(model, body.get("messages", [])))
            if kind in ("429", "500", "503"):
                headers = {"Retry-After": server.faults.retry_after} if kind == "429" else {}
                return self._json(int(kind), {"error": {"message": self._error_text(kind)}}, headers)
            if kind == "hang":
                server._stop.wait(server.faults.hang)
                self.close_connection = True
                return
            if kind == "drop":
                self.close_connection = True
                return
            if kind == "truncated":
                raw = json.dumps(server.completion(model, body.get("messages", []))).encode()
                return self._raw(200, raw[: len(raw) // 2])
            if kind == "malformed":
                return self._raw(200, b"{this is not json")
            return self._json(200, {**server.completion(model, []), "choices": []})  # empty_choices

        def _error_text(self, kind: str) -> str:
            text = f"injected fault {kind}"
            if server.faults.echo_secrets:
                creds = [self.headers.get(h) for h in ("authorization", "x-api-key", "api-key")]
                text += " for " + " ".join(c for c in creds if c)
            return text

        def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            self._raw(status, json.dumps(data).encode(), headers)

        def _raw(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): fine
                self.close_connection = True

    return Handler
