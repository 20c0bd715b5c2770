"""docs/judges.md matches the code: its Python blocks run in order as one script and print what the page says,
every spec snippet runs, and every settings and parameter field has a row in its table."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from judges import JudgeSettings, SimulatedJudgeParams
from oversight.experiment import Experiment, run_experiment

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "judges.md").read_text()


def test_the_python_blocks_run_and_print_what_the_page_says(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE, flags=re.S)
    assert len(blocks) >= 6
    script = tmp_path / "judges_md.py"
    script.write_text("\n\n".join(blocks) + '\nprint("judges.md: ok")\n')
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "judges.md: ok" in done.stdout
    # `print(...)  # expected` and the comment lines after a loop of prints state what is printed
    expected = [m.strip() for b in blocks for m in re.findall(r"^print\(.*\)\s+# (.+)$", b, flags=re.M)]
    expected += [m.strip() for b in blocks for m in re.findall(r"^# ((?:majority|mean|welfare).+)$", b, flags=re.M)]
    assert expected
    printed = [line.strip() for line in done.stdout.splitlines()]
    for want in expected:
        assert any(re.sub(r"\s+", " ", want) == re.sub(r"\s+", " ", line) for line in printed), (want, printed)


@pytest.mark.parametrize("n", range(len(re.findall(r"```toml\n", PAGE))))
def test_spec_snippet_runs(n: int, tmp_path: Path) -> None:
    snippet = re.findall(r"```toml\n(.*?)```", PAGE, flags=re.S)[n]
    spec = Experiment.from_dict({**tomllib.loads(snippet), "cache": False})
    result = run_experiment(spec, output_dir=tmp_path, progress="off")
    assert result.status == "complete" and result.errors == 0 and result.done == result.total > 0


@pytest.mark.parametrize(
    "model,heading", [(JudgeSettings, "`JudgeSettings`"), (SimulatedJudgeParams, "(`SimulatedJudgeParams`")]
)
def test_every_field_has_a_row(model, heading) -> None:
    table = PAGE.split(heading)[1].split("\n\n")[1]
    documented = re.findall(r"^\| `(\w+)` \|", table, flags=re.M)
    assert sorted(documented) == sorted(model.model_fields)
