"""What protocols need from their agents: arguers (debaters, consultants), MAD responders, market predictors,
decomposers, solvers and combiners. Each is a small protocol class with one async method per thing it is asked to do."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from oversight.episode import Turn
from oversight.transcript import View


@runtime_checkable
class Arguer(Protocol):
    """A debater or consultant. Each method returns the turn it produced for `view`; the protocol then sets the
    authoritative role, round and assigned answer, enforces word limits and verifies quotes.

    `argue` makes a speech for `view.answer`; `ask` puts a cross-examination question to the other side; `answer`
    answers the question in the view's last turn; `choose` returns a turn whose `answer` is the side it picks
    (None when it gave no usable choice). `identity` names the agent in the Episode (model + prompt hash).
    """

    identity: str

    async def argue(self, view: View) -> Turn: ...

    async def ask(self, view: View) -> Turn: ...

    async def answer(self, view: View) -> Turn: ...

    async def choose(self, view: View) -> Turn: ...


@runtime_checkable
class Responder(Protocol):
    """A multi-agent-debate participant: `respond` returns a turn whose `answer` is its current choice (or None)."""

    identity: str

    async def respond(self, view: View) -> Turn: ...


@runtime_checkable
class Predictor(Protocol):
    """A market (market making): `predict` returns a turn whose `meta["distribution"]` is its prediction of the
    judge's final distribution over the answers (indexed like the question's choices; `answer` its most likely
    answer, `probability` that answer's probability), or, when it could give none, `meta["valid"] = False` and no
    distribution. `meta["method"]` says how it was read (`logprobs`, `elicited`, `simulated`)."""

    identity: str

    async def predict(self, view: View) -> Turn: ...


@runtime_checkable
class Adversary(Protocol):
    """Market making's adversary: `argue` makes an argument for `view.answer` meant to move the market; `ask`
    cross-examines the argument of an earlier step (`view.extra["about"]`: that argument's author role) and may
    set `meta["flagged"] = True` to call it misleading; `answer` replies to such a question as the earlier step's
    author. Every `Arguer` (a debater, a consultant) is one."""

    identity: str

    async def argue(self, view: View) -> Turn: ...

    async def ask(self, view: View) -> Turn: ...

    async def answer(self, view: View) -> Turn: ...


@runtime_checkable
class Decomposer(Protocol):
    """Splits the question of `view` into subquestions (decomposition, IDA's overseer).

    The returned turn's `meta["subquestions"]` lists them (an empty list: answer the question directly), or the
    turn is marked unusable (`meta["valid"] = False`, `meta["error"]` saying why; the protocol retries). A
    programmatic decomposer that knows the answers may add `meta["gold"]`, one gold answer per subquestion.
    The view carries the protocol's fields in `view.extra`: `node` (the node id), `breadth` (most subquestions
    allowed; `agents.decomposer.decomposition_schema(breadth)` is the reply's JSON schema), `attempt` and
    `feedback` (what was wrong last time).
    """

    identity: str

    async def decompose(self, view: View) -> Turn: ...


@runtime_checkable
class Solver(Protocol):
    """Answers the question of `view` directly (a leaf of a decomposition): the turn's content is the answer,
    ending with "Answer: ..." (one letter when `view.choices` are shown). Earlier results it may use (sequential
    steps) are the view's turns; `view.extra["node"]` is the node id."""

    identity: str

    async def solve(self, view: View) -> Turn: ...


@runtime_checkable
class Combiner(Protocol):
    """Answers the question of `view` from its subquestions' answers, which are the view's turns (one `result`
    turn per subquestion: its question and answer). The turn's content is the answer, as for a `Solver`."""

    identity: str

    async def combine(self, view: View) -> Turn: ...
