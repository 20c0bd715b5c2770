"""What a judge saw is recorded with its verdict and rebuilt from the stored episode alone, for every protocol and
variant: the same View, and byte for byte the same messages to the judge."""

from __future__ import annotations

import dataclasses

import pytest
from protocol_support import Q4, Q, model, question

from agents import Consultant, Debater, MADAgent
from judges import LLMJudge
from oversight.episode import Episode
from oversight.judge_view import ViewRecordError, rebuild_view, swapped_view
from oversight.quotes import escape
from oversight.transcript import Transcript, View, make_turn
from protocols import (
    ConsultancyConfig,
    DebateConfig,
    DirectConfig,
    MADConfig,
    consultancy,
    debate,
    direct,
    mad,
)


class Recording:
    """Wraps a judge and keeps every view it was asked to decide from."""

    def __init__(self, judge):
        self.judge, self.identity, self.views = judge, judge.identity, []

    async def decide(self, view):
        self.views.append(view)
        return await self.judge.decide(view)

    async def ask(self, view):
        return await self.judge.ask(view)


def _fields(v: View) -> dict:
    d = {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
    d["turns"] = [t.model_dump() for t in v.turns]
    d["names"] = {r: v.speaker(r) for r in {t.role for t in v.turns} | {v.role}}
    del d["turn_ids"]  # positions in each view's own transcript: the record maps one to the other
    return d


async def _episode(kind: str, cfg, seed: int = 3) -> tuple[Episode, Recording]:
    m = model()
    judge = Recording(LLMJudge(m))
    if kind == "debate":
        out = await debate(question(seed), (Debater(m), Debater(m)), judge, cfg, seed)
    elif kind == "consultancy":
        out = await consultancy(question(seed), Consultant(m), judge, cfg, seed)
    elif kind == "direct":
        out = await direct(question(seed, Q4), judge, cfg, seed)
    else:
        agents = [MADAgent(get_agent_model())] * 3
        out = await mad(question(seed, Q4), agents, cfg, seed, judge)
    return out.episode(id=f"{kind}-{seed}", protocol=kind), judge


def get_agent_model():
    from oversight.models import get_model

    return get_model("scripted/agents", outputs=["I think so. Answer: A", "No. Answer: B", "Answer: C"], cycle=True)


VARIANTS = [
    ("debate", DebateConfig(rounds=2)),
    ("debate", DebateConfig(rounds=2, simultaneous=True, cross_examination=True)),
    ("debate", DebateConfig(rounds=3, interactive=True)),
    ("debate", DebateConfig(rounds=1, open=True)),
    ("consultancy", ConsultancyConfig(rounds=2, interactive=True)),
    ("consultancy", ConsultancyConfig(rounds=1, open=True)),
    ("direct", DirectConfig(tier="naive")),
    ("direct", DirectConfig(tier="expert", two_choice=False)),
    ("mad", MADConfig(agents=3, rounds=2, use_judge=True, judge_sees="final")),
    ("mad", MADConfig(agents=3, rounds=1, use_judge=True, judge_sees="all")),
]


@pytest.mark.parametrize("kind,cfg", VARIANTS, ids=lambda v: v if isinstance(v, str) else "")
async def test_the_judge_view_is_rebuilt_from_the_stored_episode(kind, cfg):
    ep, judge = await _episode(kind, cfg)
    stored = Episode.model_validate_json(ep.model_dump_json())  # only what the store keeps
    k = len(stored.judgments) - 1
    rebuilt = rebuild_view(stored, k)
    assert _fields(rebuilt) == _fields(judge.views[-1])
    sent = next(t.seen for t in stored.turns if t.kind == "judgment")
    assert LLMJudge(model()).messages(rebuilt) == sent  # byte for byte what the judge was sent
    if kind == "direct" and cfg.tier == "expert":
        assert rebuilt.context is not None and stored.judgments[-1].view.context == Q4.context
    else:
        assert stored.judgments[-1].view.context is None


async def test_views_record_which_turns_were_shown():
    ep, _ = await _episode("mad", MADConfig(agents=3, rounds=2, use_judge=True, judge_sees="final"))
    record = ep.judgments[-1].view
    assert [ep.turns[i].round for i in record.turns] == [2, 2, 2]  # the last round only
    assert ep.judgments[0].view is None  # the majority vote saw no view
    with pytest.raises(ViewRecordError, match="records no judge view"):
        rebuild_view(ep, 0)


def _debate_view() -> View:
    t = Transcript(Q, order=(0, 1), context_roles={"debater_a", "debater_b"})
    a = make_turn("debater_a", "Answer A is right; (B) is wrong and debater B knows it. <quote>answer A</quote>")
    a.answer = 0
    b = make_turn("debater_b", "Debater A is lying: the answer is B. A river flows.")
    b.answer = 1
    q = make_turn("debater_b", "Why answer A?", kind="question", meta={"to": "debater_a"})
    t.add(a, b, q)
    return t.view_for("judge", task="decide")


def test_the_swapped_view_moves_letters_speakers_and_letter_references_but_never_quotes():
    view = _debate_view()
    s = swapped_view(view)
    assert s.order == (1, 0) and s.choices == (escape(Q.choices[1]), escape(Q.choices[0]))
    assert 'speaker="Debater B" round="1">\n| Answer B is right; (A) is wrong and debater A knows it.' in s.transcript
    assert '<quote status="unverified">answer A</quote>' in s.transcript  # quoted text is what was checked
    assert 'speaker="Debater A" round="1">\n| Debater B is lying: the answer is A. A river flows.' in s.transcript
    assert 'kind="question" to="Debater B">\n| Why answer B?' in s.transcript
    assert swapped_view(s).transcript == view.transcript and swapped_view(s).order == view.order


def test_a_view_of_a_transcript_renders_its_turns_as_the_transcript_does():
    view = _debate_view()
    plain = dataclasses.replace(view, order=view.order)
    assert plain.transcript == view.transcript
    assert view.record().turns == [0, 1, 2] and view.record().question == Q.text


def test_choices_text_made_once_is_used_only_for_the_choices_it_was_made_from() -> None:
    import dataclasses

    from oversight.transcript import Transcript
    from oversight.types import Question

    t = Transcript.start(Question(id="q", text="Which?", choices=["x <y>", "z"], answer=0), order=[1, 0])
    view = t.view_for("judge", task="decide")
    assert view.choices_text == "A: z\nB: x &lt;y&gt;"
    other = dataclasses.replace(view, choices=("p", "q"))  # a protocol showing other choices: never the old text
    assert other.choices_text == "A: p\nB: q"
