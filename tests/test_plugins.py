"""Third-party packages add protocols and providers through entry points, without editing ours; the built-ins
use the same door; the lazy public names of `oversight` come from the packages' `__all__`."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import oversight
from oversight.models.registry import provider_prefixes, register_provider
from oversight.plugins import PROTOCOLS_GROUP, PROVIDERS_GROUP, entry_point_targets
from oversight.protocol_registry import ProtocolEntry, get_protocol, protocol_names, register_protocol

PLUGIN = '''
from pydantic import BaseModel, ConfigDict

from oversight.episode import Judgment, Outcome, ProtocolResult
from oversight.models import Provider
from oversight.protocol_registry import ProtocolEntry
from oversight.transcript import model_turn
from oversight.types import ChatMessage, ModelOutput, Usage


class EchoProvider(Provider):
    provider = "echoplug"
    free = True

    def __init__(self, model, *, endpoint=None):
        super().__init__(model, endpoint or f"echoplug/{model}")

    async def generate(self, messages, config):
        return ModelOutput(text="Answer: B " + messages[-1].content, model=self.name, usage=Usage(output_tokens=3))


class AskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prefix: str = "Q:"


async def run(setup):
    cfg = setup.config
    seen = [ChatMessage(role="user", content=f"{cfg.prefix} {setup.question.text}")]
    out = await setup.model("judge").generate(seen)
    choice = 1 if out.text.startswith("Answer: B") else None
    judgment = Judgment(judge=out.model, choice=choice, valid=choice is not None)
    return Outcome(setup.question, [model_turn("judge", out, seen, kind="judgment")], [judgment], ProtocolResult())


ASK = ProtocolEntry(name="plug-ask", config=AskConfig, roles=("judge",), run=run)
'''


def _plugin(root: Path) -> Path:
    (root / "ovplug").mkdir(parents=True)
    (root / "ovplug" / "__init__.py").write_text(PLUGIN)
    info = root / "ovplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ovplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[{PROTOCOLS_GROUP}]\nplug-ask = ovplug:ASK\n\n[{PROVIDERS_GROUP}]\nechoplug = ovplug:EchoProvider\n"
    )
    return root


def test_an_installed_package_adds_a_protocol_and_a_provider_through_entry_points(tmp_path: Path) -> None:
    plugin = _plugin(tmp_path / "site")
    data = tmp_path / "q.jsonl"
    rows = [{"id": f"q{i}", "text": f"Question {i}?", "choices": ["x", "y"], "answer": i % 2} for i in range(6)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = tmp_path / "spec.toml"
    spec.write_text(
        textwrap.dedent(f"""
        name = "plug"
        cache = false
        [[tasks]]
        dataset = "{data}"
        [[protocols]]
        name = "plug-ask"
        prefix = "Tell me:"
        [[judges]]
        model = "echoplug/one"
        """)
    )
    env = {"PYTHONPATH": str(plugin), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = ["--output-dir", str(tmp_path / "runs"), "--progress", "off"]
    done = subprocess.run(
        [sys.executable, "-m", "oversight", "run", str(spec), *out],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    run_dir = next((tmp_path / "runs" / "plug").iterdir())
    episodes = [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == 6 and all(e["protocol"] == "plug-ask" and e["error"] is None for e in episodes)
    assert all(e["roles"] == {"judge": "echoplug/one"} for e in episodes)
    assert sum(e["correct"] for e in episodes) == 3  # it always says B; half the gold answers are B
    assert episodes[0]["turns"][0]["content"].startswith("Answer: B Tell me: Question")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "complete"


def test_builtins_enter_through_the_same_entry_points() -> None:
    protocols = entry_point_targets(PROTOCOLS_GROUP)
    assert {"direct", "consultancy", "debate", "mad"} <= set(protocols)
    assert {"direct", "consultancy", "debate", "mad"} <= set(protocol_names())
    assert {"openai", "anthropic", "vllm", "local", "scripted"} <= set(entry_point_targets(PROVIDERS_GROUP))
    assert {"openai", "anthropic", "vllm", "local", "scripted"} <= set(provider_prefixes())
    for name, target in protocols.items():
        if name in ("direct", "consultancy", "debate", "mad"):
            assert get_protocol(name) is getattr(importlib.import_module(target.split(":")[0]), target.split(":")[1])


def test_registering_a_taken_name_needs_replace() -> None:
    debate = get_protocol("debate")
    other = ProtocolEntry(name="debate", config=debate.config, roles=debate.roles, run=debate.run)
    with pytest.raises(ValueError, match="already registered"):
        register_protocol(other)
    with pytest.raises(ValueError, match="already registered"):
        register_provider("openai", "oversight.models.scripted:ScriptedProvider")
    with pytest.raises(ValueError, match="no '/'"):
        register_provider("a/b", "x:y")


def test_module_attr_paths_still_name_unregistered_protocols() -> None:
    assert get_protocol("protocols.debate:DEBATE") is get_protocol("debate")
    with pytest.raises(KeyError, match="unknown protocol 'nope'"):
        get_protocol("nope")


def test_lazy_public_names_come_from_each_packages_all() -> None:
    for module in oversight.LAZY_MODULES:
        spec = importlib.util.find_spec(module)
        tree = ast.parse(Path(spec.origin).read_text())
        names = next(
            ast.literal_eval(n.value)
            for n in tree.body
            if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
        )
        for name in names:
            value = getattr(oversight, name)
            assert value is getattr(importlib.import_module(module), name) or module != _first_provider(name)
    assert oversight.Debate is importlib.import_module("protocols").debate
    assert oversight.LLMJudge is importlib.import_module("judges").LLMJudge
    assert "register_protocol" in dir(oversight)
    with pytest.raises(AttributeError):
        oversight.NoSuchName  # noqa: B018


def _first_provider(name: str) -> str:
    for module in oversight.LAZY_MODULES:
        if name in importlib.import_module(module).__all__:
            return module
    raise AssertionError(name)
