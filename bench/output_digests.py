"""Digests of everything a run writes, for checking that a performance change leaves outputs byte-identical.

Runs `bench_runner.py`'s three shapes (toy, debate, consultancy; scripted models, 200 episodes each, the call
cache on) into OUT and prints one line per file: the sha256 prefix of its content with what legitimately
differs between two runs left out (timings, latencies, run ids, paths, pids, dates). Two checkouts that print
the same lines wrote the same episodes, pool, spec, summary and cache rows.

    PYTHONPATH=. .venv/bin/python bench/output_digests.py OUT > before.txt   # on the old commit
    PYTHONPATH=. .venv/bin/python bench/output_digests.py OUT2 > after.txt   # on the new one
    diff before.txt after.txt
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_runner  # noqa: E402

from oversight.experiment import run_experiment  # noqa: E402

#: keys whose values differ from run to run by nature (when, how long, where, which process)
VOLATILE = frozenset(
    "latency created started finished seconds wall_seconds elapsed time timestamp duration timings start "
    "run_id argv path base_dir session_seconds host pid python platform git".split()
)
_RUN_DIR = re.compile(r"/\d{8}-\d{6}-[0-9a-f]{4}/")


def stable(value: Any) -> Any:
    """`value` without its volatile keys, at any depth."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_line(path: Path, root: Path) -> str:
    name = _RUN_DIR.sub("/", "/" + str(path.relative_to(root))).lstrip("/")
    if path.suffix == ".sqlite":
        conn = sqlite3.connect(path)
        try:
            rows = [[k, stable(json.loads(o))] for k, o in conn.execute("SELECT key, output FROM calls ORDER BY key")]
        finally:
            conn.close()
        return f"{name} rows {len(rows)} {digest(json.dumps(rows))}"
    if path.suffix == ".jsonl":
        lines = [json.dumps(stable(json.loads(x)), sort_keys=True) for x in path.read_text().splitlines() if x]
        return f"{name} lines {len(lines)} {digest(chr(10).join(lines))}"
    if path.suffix == ".json":
        return f"{name} {digest(json.dumps(stable(json.loads(path.read_text())), sort_keys=True))}"
    return f"{name} bytes {path.stat().st_size}"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        print(f"{out} is not empty: give a new directory", file=sys.stderr)
        return 2
    for shape in ("toy", "debate", "consultancy"):
        spec = bench_runner.spec(shape, 2, shape)
        result = run_experiment(spec, output_dir=out, cache=out / f"{shape}.sqlite", progress="off")
        if result.status != "complete":
            print(f"{shape}: run ended {result.status}", file=sys.stderr)
            return 1
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "lock"):
        print(file_line(path, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
