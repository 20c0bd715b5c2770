"""How an experiment describes a judge, in terms the core can hold: `JudgeEntry` (a model, a simulated judge, a
sparse-pixel judge, a human or a jury, with a juror's attributes), the parameters of simulated and sparse-pixel
judges, and what a human judge id may be. The judges layer builds judges from these (`judges.build_entry_judge`;
pixel judges: `judges.pixel_judge`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from oversight.metrics.jury import JuryRule

_JUDGE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def check_judge_id(judge_id: str) -> str:
    """`judge_id` if it is a safe human judge id (letters, digits, `_ . @ -`; no path characters), else raises
    ValueError naming it."""
    if not isinstance(judge_id, str) or not _JUDGE_ID.match(judge_id):
        raise ValueError(
            f"human judge id {judge_id!r}: use 1-64 letters, digits, '_', '.', '@' or '-' (no spaces or slashes)"
        )
    return judge_id


class SimulatedJudgeParams(BaseModel):
    """What a simulated judge weighs, in log-odds added to each answer's score (p = softmax of the scores).

    With no transcript, no position bias and no noise, it picks the gold answer with probability `accuracy`.
    """

    model_config = ConfigDict(extra="forbid")

    #: chance its private signal points to the gold answer (else to a random wrong one); 1/k = knows nothing
    accuracy: float = Field(default=0.5, ge=0.0, le=1.0)
    #: log-odds the private signal adds to the answer it points to
    signal_weight: float = Field(default=1.0, ge=0.0)
    #: log-odds per verified quote in a turn arguing an answer
    verified_weight: float = 1.0
    #: log-odds per unverified quote in a turn arguing an answer (negative: unverified quotes count against it)
    unverified_weight: float = 0.0
    #: log-odds added to the answer shown first (a position-biased judge)
    position_bias: float = 0.0
    #: log-odds per 100 words argued for an answer (persuaded by length)
    length_weight: float = 0.0
    #: log-odds per confident phrase ("clearly", "without doubt", ...) in turns arguing an answer
    confidence_weight: float = 0.0
    #: standard deviation of Gaussian noise added to every answer's score
    noise: float = Field(default=0.0, ge=0.0)
    #: seeds the private signal and the noise (with the question and the episode seed)
    seed: int = 0


class PixelJudgeParams(BaseModel):
    """A sparse-pixel judge (Irving et al. 2018): a classifier that sees only `k` revealed pixels of an image, and
    how it is trained. The dataset is the task's; `judges.pixel_judge.PixelJudgeConfig` adds it.

    `hidden` (layer sizes) and `train_masks` (random (image, mask) training examples) set its capacity; `pool`
    which pixels may be revealed (`all`, or the image's non-zero ones); `block` > 0 adds b x b cell inputs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(ge=1)
    hidden: tuple[int, ...] = Field(default=(256,), min_length=1)
    seed: int = 0
    pool: Literal["nonzero", "all"] = "all"
    train_masks: int = Field(default=2_400_000, ge=1)
    batch_size: int = Field(default=256, ge=1)
    learning_rate: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    #: 0, or a block size b: the input also gets each revealed pixel's b x b cell (value and mask), so the network
    #: can share what it learns across neighbouring pixels; folded into per-pixel weights after training.
    block: int = Field(default=0, ge=0)


#: the kinds of judge entry: an LLM, a simulated judge, a sparse-pixel judge, a person, a jury
JudgeKind = Literal["model", "simulated", "pixel", "human", "jury"]


@dataclass(frozen=True)
class JudgeEntry:
    """A judge as an experiment's judge entry describes it (the runner makes one per entry; `build_entry_judge`
    turns it into a judge for each episode).

    `kind`: `model` (an LLM judge on the model bound to `role`), `simulated` (`simulated` parameters), `pixel`
    (a sparse-pixel judge, `pixel` parameters; only the pixel protocols take it), `human` (judge id `human`) or
    `jury` (`jurors`, combined by `rule`). `persona` and `population` are a juror's attributes.
    """

    name: str
    kind: JudgeKind
    role: str | None = None
    simulated: SimulatedJudgeParams | None = None
    pixel: PixelJudgeParams | None = None
    human: str | None = None
    persona: str | None = None
    population: str | None = None
    jurors: tuple[JudgeEntry, ...] = ()
    rule: JuryRule | None = None


__all__ = ["JudgeEntry", "JudgeKind", "PixelJudgeParams", "SimulatedJudgeParams", "check_judge_id"]
