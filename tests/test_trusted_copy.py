"""`trusted_copy` is `model_copy(update=...)` without its overhead: same values, same fields set, same merges."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from oversight.experiment.roles import RoleModel
from oversight.types import GenerateConfig, Question, trusted_copy


def test_trusted_copy_matches_model_copy() -> None:
    base = GenerateConfig(max_tokens=332)
    for update in ({"seed": 7}, {"seed": 1, "max_tokens": 24}, {"extra": {"a": 1}}, {}):
        fast, slow = trusted_copy(base, update), base.model_copy(update=update)
        assert fast == slow and fast.__dict__ == slow.__dict__
        assert fast.model_fields_set == slow.model_fields_set
        assert fast.model_dump() == slow.model_dump()
    assert base.model_fields_set == {"max_tokens"} and base.seed is None  # the original is untouched
    q = Question(id="q", text="t", choices=["a", "b"], answer=0)
    assert trusted_copy(q, {"id": "r"}).model_dump() == q.model_copy(update={"id": "r"}).model_dump()


def test_trusted_copy_falls_back_for_models_with_extras() -> None:
    class Loose(BaseModel):
        model_config = ConfigDict(extra="allow")
        a: int = 0

    loose = Loose(a=1, b=2)
    copied = trusted_copy(loose, {"a": 3})
    assert copied.a == 3 and copied.model_extra == {"b": 2}


def test_a_role_merges_only_the_fields_a_caller_set() -> None:
    role = RoleModel.__new__(RoleModel)
    role.config, role._last = GenerateConfig(temperature=0.7, max_tokens=100, seed=3), None
    call = trusted_copy(GenerateConfig(max_tokens=50), {"seed": 9})
    merged = role.effective_config(call)
    assert (merged.temperature, merged.max_tokens, merged.seed) == (0.7, 50, 9)


def test_set_fields_sets_as_setattr_does() -> None:
    from oversight.episode import Turn
    from oversight.types import ChatMessage, set_fields

    built, assigned = Turn(role="x", content="c"), Turn(role="x", content="c")
    set_fields(built, role="debater_a", round=2, answer=1)
    assigned.role, assigned.round, assigned.answer = "debater_a", 2, 1
    assert built.__dict__ == assigned.__dict__
    assert built.model_fields_set == assigned.model_fields_set == {"role", "content", "round", "answer"}
    assert built.model_dump_json(exclude_unset=True) == assigned.model_dump_json(exclude_unset=True)
    frozen = ChatMessage(role="user", content="c")
    with pytest.raises(ValidationError):  # a frozen model refuses, as setattr does
        set_fields(frozen, content="d")
