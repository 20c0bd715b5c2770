"""No key anywhere: with fake keys in the environment, spec options, headers, URL credentials and the command line,
and a server that echoes them in its errors, every file under the run dir and the cache, the logs, the printed
output and the recorded exception texts are scanned for each key."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from fault_server import Faults, FaultServer

from oversight.models.secrets import redact, redact_argv, redact_data

ENV_KEY = "sk-env-SCAN-0000000001"
OPT_KEY = "sk-opt-SCAN-0000000002"
HEADER_KEY = "hdr-SCAN-0000000003"
URL_PASSWORD = "pw-SCAN-0000000004"
ARGV_KEY = "sk-argv-SCAN-0000000005"
#: what an HTTP client sends for URL credentials: `Authorization: Basic base64(user:password)`
BASIC = base64.b64encode(f"scan:{URL_PASSWORD}".encode()).decode()
KEYS = (ENV_KEY, OPT_KEY, HEADER_KEY, URL_PASSWORD, ARGV_KEY, BASIC)
HELPERS = str(Path(__file__).resolve().parent)


def _scan(*blobs: bytes | str) -> list[str]:
    """The keys found in any of `blobs` (their start too: a truncated key is still a leak)."""
    text = b"\n".join(b if isinstance(b, bytes) else b.encode() for b in blobs)
    return [k for k in KEYS if k.encode() in text or k[:12].encode() in text]


def _files(*roots: Path) -> list[bytes]:
    return [p.read_bytes() for root in roots for p in sorted(root.rglob("*")) if p.is_file()]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": HELPERS,
        "OPENAI_API_KEY": ENV_KEY,
        "OVERSIGHT_CACHE_DIR": str(tmp_path / "cache"),
        "OPENAI_LOG": "debug",  # the SDK's own debug log goes to stderr: scanned too
    }


def test_a_demo_with_keys_on_its_command_line_leaks_none(tmp_path: Path) -> None:
    with FaultServer(Faults(rate=0.25, kinds=("500", "429"), echo_secrets=True, seed=3)) as server:
        url = server.url.replace("http://", f"http://scan:{URL_PASSWORD}@")
        cmd = [sys.executable, "-m", "oversight", "demo", "--model", "openai/demo", "--n", "2", "--no-expert"]
        cmd += ["-o", f"base_url={url}", "-o", f"api_key={ARGV_KEY}", "-o", "timeout=5"]
        cmd += ["-o", json.dumps({"X-Api-Key": HEADER_KEY}).join(["extra_headers=", ""])]
        cmd += ["--out", str(tmp_path / "runs"), "--progress", "lines"]
        proc = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
        seen = server.headers_seen
    assert proc.returncode == 0, proc.stderr[-2000:]
    # The keys did reach the server (so they were in play), and errors quoting them were retried. The URL's
    # credentials go as HTTP Basic auth, in place of the key's Bearer header (httpx's rule).
    assert any(h.get("authorization") == f"Basic {BASIC}" for h in seen)
    assert any(h.get("x-api-key") == HEADER_KEY for h in seen) and server.faults_served > 0
    run_dir = next((tmp_path / "runs" / "demo").iterdir())
    spec = json.loads((run_dir / "spec.json").read_text())
    assert "api_key=***" in spec["provenance"]["argv"]  # recorded, masked
    assert f"base_url={url.replace(f'scan:{URL_PASSWORD}', '***')}" in spec["provenance"]["argv"]
    assert _scan(proc.stdout, proc.stderr, *_files(run_dir, tmp_path / "cache")) == []


def test_errors_quoting_keys_are_masked_in_every_record(tmp_path: Path) -> None:
    # The judge's server fails every call and echoes the credentials it got; the debaters use the env key.
    failing = Faults(rate=1.0, kinds=("500",), echo_secrets=True)
    with FaultServer(Faults(echo_secrets=True)) as good, FaultServer(failing) as bad:
        judge_url = bad.url.replace("http://", f"http://scan:{URL_PASSWORD}@")
        spec = {
            "name": "scan",
            "retry": {"max_attempts": 2, "base": 0.001, "cap": 0.01},
            "tasks": [{"dataset": "gen/hidden-passage", "n": 3}],
            "protocols": [{"name": "debate", "rounds": 1, "judge": {"use_logprobs": False}}],
            "roles": {"debater": {"model": "openai/d", "options": {"base_url": good.url, "timeout": 5}}},
            "judges": [
                {
                    "name": "j",
                    "model": "openai/j",
                    "options": {
                        "base_url": judge_url,
                        "api_key": OPT_KEY,
                        "extra_headers": {"X-Api-Key": HEADER_KEY},
                        "timeout": 5,
                    },
                }
            ],
        }
        path = tmp_path / "spec.json"
        path.write_text(json.dumps(spec))
        cmd = [sys.executable, "-m", "oversight", "run", str(path), "--output-dir", str(tmp_path / "runs")]
        proc = subprocess.run(cmd + ["--progress", "lines"], env=_env(tmp_path), capture_output=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]  # every episode errored: the run failed
    assert any(h.get("x-api-key") == HEADER_KEY for h in bad.headers_seen)
    assert any(h.get("authorization") == f"Bearer {ENV_KEY}" for h in good.headers_seen)
    run_dir = next((tmp_path / "runs" / "scan").iterdir())
    errors = [json.loads(line)["error"] for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
    assert len(errors) == 3 and all("injected fault 500 for Basic *** ***" in e for e in errors), errors
    assert all("http://***@127.0.0.1" in e for e in errors)
    assert b"run failed: 3/3 episodes ended in an error" in proc.stderr
    assert _scan(proc.stdout, proc.stderr, *_files(run_dir, tmp_path / "cache")) == []


def test_the_masking_vocabulary() -> None:
    assert redact(f"GET http://bob:{URL_PASSWORD}@h/v1 failed") == "GET http://***@h/v1 failed"
    assert redact(f"x-api-key: {HEADER_KEY}; Authorization: Bearer {ARGV_KEY}") == (
        "x-api-key: ***; Authorization: Bearer ***"
    )
    assert redact("max_tokens: must be >= 1; tokenizer=gpt2") == "max_tokens: must be >= 1; tokenizer=gpt2"
    assert redact_argv(["-o", f"api_key={ARGV_KEY}", "--api-key", ARGV_KEY, f"--token={ARGV_KEY}", "--n", "2"]) == [
        "-o",
        "api_key=***",
        "--api-key",
        "***",
        "--token=***",
        "--n",
        "2",
    ]
    assert redact_argv([f'extra_headers={{"X-Api-Key": "{HEADER_KEY}"}}']) == ['extra_headers={"X-Api-Key": "***"}']
    data = {"X-Api-Key": HEADER_KEY, "Proxy-Authorization": "Basic abcdef123", "HF_TOKEN": "hf_abcdefgh"}
    data |= {"max_tokens": 5, "endpoint_limits": {f"http://u:{URL_PASSWORD}@h": 4}}
    assert redact_data(data) == {
        "X-Api-Key": "***",
        "Proxy-Authorization": "***",
        "HF_TOKEN": "***",
        "max_tokens": 5,
        "endpoint_limits": {"http://***@h": 4},
    }
