"""docs/protocols.md matches the code: every config field has a row, every spec snippet runs, every Python block
runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from oversight.experiment import Experiment, run_experiment
from oversight.quotes import QuoteConfig
from protocols import (
    AdversarySettings,
    ConsultancyConfig,
    DebateConfig,
    DecompositionConfig,
    DirectConfig,
    MADConfig,
    MarketMakingConfig,
    MarketSettings,
)
from protocols.ida import IDAConfig
from protocols.pixel_debate import PixelConsultancyConfig, PixelDebateConfig, PixelDebaterSpec

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "protocols.md").read_text()


@pytest.mark.parametrize(
    "config",
    [
        DirectConfig,
        ConsultancyConfig,
        DebateConfig,
        MADConfig,
        MarketMakingConfig,
        MarketSettings,
        AdversarySettings,
        DecompositionConfig,
        QuoteConfig,
        IDAConfig,
        PixelDebateConfig,
        PixelConsultancyConfig,
        PixelDebaterSpec,
    ],
)
def test_every_config_field_has_a_row_in_its_table(config) -> None:
    table = PAGE.split(f"`{config.__name__}`")[1].split("\n\n")[1]
    documented = re.findall(r"^\| `(\w+)` \|", table, flags=re.M)
    assert sorted(documented) == sorted(config.model_fields), config.__name__


@pytest.mark.parametrize("n", range(len(re.findall(r"```toml\n", PAGE))))
def test_spec_snippet_runs(n: int, tmp_path: Path) -> None:
    snippet = re.findall(r"```toml\n(.*?)```", PAGE, flags=re.S)[n]
    spec = Experiment.from_dict({**tomllib.loads(snippet), "cache": False})
    result = run_experiment(spec, output_dir=tmp_path, progress="off")
    assert result.status == "complete" and result.errors == 0 and result.done == result.total > 0


def test_python_blocks_run(tmp_path: Path) -> None:
    for block in re.findall(r"```python\n(.*?)```", PAGE, flags=re.S):
        done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, block + done.stderr
