"""The real `openai` provider against a fault-injecting server (tests/fault_server.py): transient faults are retried
and counted, no episode is lost or recorded twice, and a role that always fails makes the run fail with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fault_server import KINDS, Faults, FaultServer

from oversight.cli import main
from oversight.experiment import Experiment, run_experiment
from oversight.store import iter_episodes

KEY = "sk-fault-test-0123456789"


def debate_spec(url: str, n: int, *, timeout: float = 1.0, attempts: int = 12, name: str = "faults") -> dict:
    options = {"base_url": url, "api_key": KEY, "timeout": timeout}
    return {
        "name": name,
        "concurrency": 16,
        "endpoint_concurrency": 16,
        "retry": {"max_attempts": attempts, "base": 0.001, "cap": 0.01},
        "tasks": [{"dataset": "gen/hidden-passage", "n": n}],
        "protocols": [{"name": "debate", "rounds": 1, "judge": {"use_logprobs": False}}],
        "roles": {"debater": {"model": "openai/debater", "options": options}},
        "judges": [{"name": "judge", "model": "openai/judge", "options": options}],
    }


def test_200_episode_debate_at_20_percent_faults_loses_nothing(tmp_path: Path) -> None:
    # Every fault kind at once; a hang outlasts the client's 1 s timeout.
    with FaultServer(Faults(rate=0.2, seed=1, hang=1.5)) as server:
        spec = Experiment.from_dict(debate_spec(server.url, 200))
        result = run_experiment(spec, output_dir=tmp_path, cache=False, progress="off", run_id="r")
    assert result.status == "complete" and result.failure is None
    lines = (result.run_dir / "episodes.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == 200 and len(set(ids)) == 200  # every episode exactly once
    episodes = list(iter_episodes(result.run_dir))
    assert [e.error for e in episodes if e.error] == []  # zero errors left after the built-in retries

    served = server.served
    assert set(served) - {"ok"} == set(KINDS), served  # every kind was injected
    assert served["ok"] == 200 * 3  # two speeches and one verdict per episode, each answered once
    retries = result.summary["retries"]
    reasons = retries["by_reason"]
    # Each injected fault cost exactly one retry, counted under its reason. A timeout can also hit a slow good
    # answer on a busy machine, so timeouts are at least the hangs.
    assert reasons.get("http 429") == served["429"]
    assert reasons.get("http 500") == served["500"] and reasons.get("http 503") == served["503"]
    assert reasons.get("malformed") == served["truncated"] + served["malformed"] + served["empty_choices"]
    assert reasons.get("connection") == served["drop"]
    assert reasons.get("timeout", 0) >= served["hang"]
    slow_good = reasons.get("timeout", 0) - served["hang"]
    assert retries["this_session"] == retries["total"] == server.faults_served + slow_good
    assert sum(e.retries for e in episodes) == retries["total"]
    assert retries["episodes_with_retries"] == sum(1 for e in episodes if e.retries)
    assert result.summary["results"][0]["retries"] == retries["total"]


def test_a_role_that_always_fails_fails_the_run_with_the_reason(tmp_path: Path, capsys) -> None:
    with FaultServer(Faults(per_model={"judge": 1.0}, kinds=("500",))) as server:
        spec_path = tmp_path / "spec.json"
        spec_path.write_text(json.dumps(debate_spec(server.url, 6, attempts=3)))
        code = main(["run", str(spec_path), "--output-dir", str(tmp_path), "--no-cache", "--progress", "off"])
    captured = capsys.readouterr()
    assert code == 1
    assert "run failed: 6/6 episodes ended in an error (100%, max_error_share 100%)" in captured.err
    assert "ModelAPIError: openai/judge: HTTP 500 from http://127.0.0.1:" in captured.err
    assert "injected fault 500 (6)" in captured.err and "Traceback" not in captured.err
    summary = json.loads(next(tmp_path.glob("faults/*/summary.json")).read_text())
    assert summary["status"] == "failed" and summary["failure"].startswith("6/6 episodes ended in an error")
    assert summary["retries"]["by_reason"] == {"http 500": 6 * 2}  # three attempts each: two retries
    # The debaters' speeches were paid for: the errored episodes keep them.
    for ep in iter_episodes(next(tmp_path.glob("faults/*"))):
        assert ep.error_type == "ModelAPIError" and sorted(t.role for t in ep.turns) == ["debater_a", "debater_b"]


@pytest.mark.parametrize("share, code", [(0.5, 1), (1.0, 0)])
def test_max_error_share_sets_when_a_partly_failed_run_fails(tmp_path: Path, capsys, share: float, code: int) -> None:
    # Half the episodes fail for good: of two judges, one points where nothing listens (connection refused).
    with FaultServer(Faults()) as server:
        spec = debate_spec(server.url, 8, attempts=2)
        good = spec["judges"][0]["options"]
        spec["judges"][0]["options"] = {**good, "base_url": "http://127.0.0.1:9/v1"}
        spec["judges"].append({"name": "ok", "model": "openai/judge", "options": good})
        spec_path = tmp_path / "spec.json"
        spec_path.write_text(json.dumps(spec))
        argv = ["run", str(spec_path), "--output-dir", str(tmp_path), "--no-cache", "--progress", "off"]
        assert main([*argv, "--max-error-share", str(share)]) == code
    err = capsys.readouterr().err
    assert ("run failed: 8/16 episodes ended in an error (50%, max_error_share 50%)" in err) == (code == 1)
