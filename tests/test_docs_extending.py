"""docs/extending.md is a script: its Python blocks, run in order in a fresh interpreter, work as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "docs" / "extending.md"


def test_every_python_block_of_extending_md_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S)
    assert len(blocks) >= 5  # protocol, running it, provider, agent, task source
    script = tmp_path / "extending.py"
    script.write_text("\n\n".join(blocks) + '\nprint("extending.md: ok")\n')
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "extending.md: ok" in done.stdout
