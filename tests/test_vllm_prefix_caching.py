"""Launched vLLM servers enable prefix caching unless told otherwise (the flag's spelling is vLLM 0.32's)."""

from pathlib import Path

import pytest

from oversight.models import get_model
from oversight.models.vllm_launcher import PREFIX_CACHING_FLAGS, VLLMServer


def switches(server: VLLMServer) -> list[str]:
    return [a for a in server.argv() if a.split("=", 1)[0] in PREFIX_CACHING_FLAGS]


def test_prefix_caching_is_on_by_default(tmp_path: Path):
    assert switches(VLLMServer(tmp_path, served_name="m")) == ["--enable-prefix-caching"]


@pytest.mark.parametrize(("setting", "expected"), [(False, ["--no-enable-prefix-caching"]), (None, [])])
def test_prefix_caching_can_be_turned_off_or_left_to_vllm(tmp_path: Path, setting, expected):
    assert switches(VLLMServer(tmp_path, served_name="m", prefix_caching=setting)) == expected


@pytest.mark.parametrize("flag", ["--no-enable-prefix-caching", "--enable-prefix-caching", "--enable-prefix-caching=1"])
def test_a_switch_in_extra_args_wins_and_is_not_doubled(tmp_path: Path, flag: str):
    assert switches(VLLMServer(tmp_path, served_name="m", extra_args=[flag])) == [flag]


async def test_launch_options_turn_it_off_through_extra_args(tmp_path: Path):
    model = get_model("vllm/m", launch={"model_dir": str(tmp_path), "extra_args": ["--no-enable-prefix-caching"]})
    try:
        assert switches(model.provider.server) == ["--no-enable-prefix-caching"]
    finally:
        await model.aclose()
