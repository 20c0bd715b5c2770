"""Language-model distillation for IDA: chat JSONL export round-trips and bad files are located, the in-context
distiller puts amplified examples in the prompt, and the external-command hook runs a real command and loads the
model it names (here: a memorising stand-in that writes a replay file for `scripted/...`)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.algorithmic import AlgorithmicOverseer, PermutationPowering
from agents.distill import ChatStudent, ExternalFineTune, InContextDistiller, read_chat_jsonl, write_chat_jsonl
from oversight.ida import DistillationError, Example, run_ida
from oversight.models import get_model
from oversight.types import ChatMessage

REPLAY_FINETUNE = Path(__file__).resolve().parent.parent / "examples" / "reproductions" / "replay_finetune.py"
TASK = PermutationPowering(1)


class Verbatim:
    """A codec whose queries are the prompt text itself."""

    def prompt(self, query):
        return query

    def parse(self, text):
        return text

    def format(self, answer):
        return answer


def amplified(n: int, seed: int = 0) -> list[Example]:
    queries = TASK.train_queries(n, seed, max_level=1)  # level 1: the overseer's answer is exact
    targets = asyncio.run(AlgorithmicOverseer(TASK).amplify(queries, None))  # type: ignore[arg-type]
    return [Example(q, y, "amplified") for q, y in zip(queries, targets, strict=True)]


def test_chat_jsonl_round_trips_amplified_examples(tmp_path):
    examples = amplified(12)
    path = write_chat_jsonl(examples, tmp_path / "sub" / "it1.jsonl", TASK, system="Answer briefly.")
    convs = read_chat_jsonl(path)
    assert len(convs) == 12
    for ex, conv in zip(examples, convs, strict=True):
        student = ChatStudent(get_model("scripted/unused", outputs=[]), TASK, system="Answer briefly.")
        assert conv[:-1] == student.messages(ex.query)  # exactly the prompt the student is later asked
        assert conv[-1] == ChatMessage(role="assistant", content=str(ex.target))
        assert TASK.parse(conv[-1].content) == ex.target
    assert all(set(json.loads(line)) == {"messages"} for line in path.read_text().splitlines())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=0, max_size=40), st.text(max_size=20)), max_size=5), st.booleans())
def test_chat_jsonl_round_trips_any_text(tmp_path_factory, pairs, with_system):
    path = tmp_path_factory.mktemp("jsonl") / "data.jsonl"
    examples = [Example(q, a, "amplified") for q, a in pairs]
    system = "sys \u2028 line" if with_system else None
    write_chat_jsonl(examples, path, Verbatim(), system=system)
    convs = read_chat_jsonl(path)
    expect = [
        ([ChatMessage(role="system", content=system)] if system else [])
        + [ChatMessage(role="user", content=q), ChatMessage(role="assistant", content=a)]
        for q, a in pairs
    ]
    assert convs == expect


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"data.jsonl:2: not JSON"),
        ('{"rows": []}', r"data.jsonl:2: field 'messages' must be a non-empty list"),
        ('{"messages": [{"role": "judge", "content": "x"}]}', r"data.jsonl:2: messages\[0\].role"),
        ('{"messages": [{"role": "user", "content": 3}]}', r"data.jsonl:2: messages\[0\].content must be a string"),
    ],
)
def test_bad_chat_jsonl_names_file_line_and_field(tmp_path, line, message):
    path = tmp_path / "data.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "ok"}]}\n' + line + "\n")
    with pytest.raises(ValueError, match=message):
        read_chat_jsonl(path)


def test_in_context_distiller_puts_amplified_examples_in_the_prompt():
    model = get_model("scripted/incontext", outputs=["5", "not a number"], record_calls=True)
    student = ChatStudent(model, TASK, spec="scripted/incontext")
    examples = amplified(10)
    m1 = asyncio.run(InContextDistiller(TASK, shots=3, seed=1).distil(examples, student, 1))
    assert len(m1.shots) == 3 and set(map(id, m1.shots)) <= set(map(id, examples)) and not student.shots
    assert "in-context3@it1" in m1.identity
    query = TASK.eval_queries(2, seed=5)
    assert asyncio.run(m1.answer(query)) == [5, None]
    sent = model.provider.calls[0]
    assert [m.role for m in sent] == ["user", "assistant"] * 3 + ["user"]
    assert sent[1].content == str(m1.shots[0].target) and sent[-1].content == TASK.prompt(query[0])
    with pytest.raises(ValueError, match="shots"):
        InContextDistiller(TASK, shots=0)


def test_ida_loop_runs_with_a_chat_student_and_the_in_context_distiller():
    # A scripted model that copies the first few-shot answer it is shown (or says 0): wiring, not learning.
    def copy_first_shot(messages, config):
        return messages[1].content if len(messages) > 1 else "0"

    task = TASK
    student = ChatStudent(get_model("scripted/copier", fn=copy_first_shot), task, spec="scripted/copier")
    res = asyncio.run(
        run_ida(
            AlgorithmicOverseer(task),
            InContextDistiller(task, shots=2),
            student,
            train_queries=lambda k: task.train_queries(6, k, max_level=k),
            eval_queries=task.eval_queries(5, 9),
            truth=task.ground_truth(),
            iterations=2,
        )
    )
    assert res.labels["ida_train"] == 0 and len(res.iterations) == 3
    assert res.iterations[1].target_accuracy == 1.0  # level 1 targets come from the oracle alone
    assert res.iterations[2].overseer["student_calls"] > 0


def finetune(tmp_path: Path, **kw) -> ExternalFineTune:
    argv = [sys.executable, str(REPLAY_FINETUNE), "{data}", "{workdir}/models", "ft-it{iteration}"]
    return ExternalFineTune(argv, TASK, tmp_path, **kw)


def test_external_finetune_runs_the_command_and_loads_its_model(tmp_path):
    examples = amplified(8, seed=3)
    base = ChatStudent(get_model("scripted/base", outputs=["0"], cycle=True), TASK, spec="scripted/base")
    hook = finetune(tmp_path)
    m1 = asyncio.run(hook.distil(examples, base, 1))
    assert m1.spec == "scripted/ft-it1" and (tmp_path / "iteration-1.jsonl").is_file()
    assert hook.commands[0][2] == str(tmp_path / "iteration-1.jsonl")
    assert (tmp_path / "models" / "ft-it1.replay.jsonl").is_file()
    # the "fine-tuned" model answers its training prompts with the amplified targets, and nothing else
    assert asyncio.run(m1.answer([ex.query for ex in examples])) == [ex.target for ex in examples]
    assert asyncio.run(m1.answer(TASK.eval_queries(2, seed=77))) == [None, None]


def test_external_finetune_inside_the_loop_and_its_failures(tmp_path):
    base = ChatStudent(get_model("scripted/base", outputs=["0"], cycle=True), TASK, spec="scripted/base")
    queries = TASK.train_queries(6, 1, max_level=1)
    res = asyncio.run(
        run_ida(
            AlgorithmicOverseer(TASK),
            finetune(tmp_path),
            base,
            train_queries=lambda k: queries,
            eval_queries=queries,  # memorised: scored on the very queries it was trained on
            truth=TASK.ground_truth(),
            iterations=1,
        )
    )
    assert res.final.ida_accuracy == 1.0 and res.labels["ida_train"] == 0 and res.student == "chat/scripted/ft-it1@it1"

    def run(argv, **kw):
        hook = ExternalFineTune(argv, TASK, tmp_path, **kw)
        return asyncio.run(hook.distil(amplified(2), base, 2))

    fail = [sys.executable, "-c", "import sys; print('disk full', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(RuntimeError, match=r"exited with 3: disk full"):
        run(fail)
    with pytest.raises(RuntimeError, match="printed no model string"):
        run([sys.executable, "-c", "pass"])
    with pytest.raises(RuntimeError, match="still running after 0.5 s"):
        run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    with pytest.raises(RuntimeError, match="needs a string field 'model'"):
        run([sys.executable, "-c", "print('{{\"options\": {{}}}}')"])  # literal braces are doubled
    with pytest.raises(ValueError, match="unknown placeholder 'model'"):
        run([sys.executable, "{model}"])
    with pytest.raises(ValueError, match="argv"):
        ExternalFineTune([], TASK, tmp_path)
    with pytest.raises(DistillationError, match=r"distiller 'external' failed at iteration 1 .*exited with 3"):
        asyncio.run(
            run_ida(
                AlgorithmicOverseer(TASK),
                ExternalFineTune(fail, TASK, tmp_path),
                base,
                train_queries=lambda k: queries,
                eval_queries=queries,
                truth=TASK.ground_truth(),
                iterations=1,
            )
        )


@pytest.mark.slow
def test_in_context_ida_with_the_local_model():
    # Kept small (2 + 2 queries, one shot): about 12 short generations on the 135M model.
    pytest.importorskip("llama_cpp")
    task = TASK
    student = ChatStudent(get_model("local/smollm2-135m", n_ctx=2048), task, spec="local/smollm2-135m")
    res = asyncio.run(
        run_ida(
            AlgorithmicOverseer(task),
            InContextDistiller(task, shots=1),
            student,
            train_queries=lambda k: task.train_queries(2, k, max_level=k + 1),
            eval_queries=task.eval_queries(2, 9),
            truth=task.ground_truth(),
            iterations=1,
        )
    )
    assert res.labels["ida_train"] == 0 and res.iterations[1].examples + res.iterations[1].unusable_targets == 2
    assert res.overseer["student_calls"] > 0 and 0.0 <= res.final.ida_accuracy <= 1.0
