"""Iterated distillation and amplification (Christiano, Shlegeris & Amodei 2018) as library pieces: the loop
(`run_ida`), the interfaces it drives (`Student`, `Amplifier`, `Distiller`), the counted door to ground truth
(`GroundTruth`) and result tables/plots. Concrete overseers, learners and LLM distillers live in `agents`."""

from oversight.ida.interfaces import Amplifier, DistillationError, Distiller, Example, Student, TargetSource
from oversight.ida.labels import GroundTruth, LabelPurpose
from oversight.ida.loop import Baseline, IDAResult, IterationRecord, run_ida

__all__ = [
    "Amplifier",
    "Baseline",
    "DistillationError",
    "Distiller",
    "Example",
    "GroundTruth",
    "IDAResult",
    "IterationRecord",
    "LabelPurpose",
    "Student",
    "TargetSource",
    "run_ida",
]
