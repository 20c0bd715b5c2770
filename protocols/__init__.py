"""Oversight protocols: each a short async function over injected agents and a judge, plus a config model and a
`ProtocolEntry` the experiment engine finds by name. Also importable from `oversight`."""

from protocols.consultancy import CONSULTANCY, ConsultancyConfig, consultancy
from protocols.debate import DEBATE, DebateConfig, debate
from protocols.direct import DIRECT, DirectConfig, direct
from protocols.mad import MAD, MADConfig, Responder, mad

#: Aliases in the capitalised style of the architecture sketch (`from oversight import Debate`).
Debate = debate
Consultancy = consultancy
Direct = direct
MultiAgentDebate = mad

__all__ = [
    "CONSULTANCY",
    "DEBATE",
    "DIRECT",
    "MAD",
    "Consultancy",
    "ConsultancyConfig",
    "Debate",
    "DebateConfig",
    "Direct",
    "DirectConfig",
    "MADConfig",
    "MultiAgentDebate",
    "Responder",
    "consultancy",
    "debate",
    "direct",
    "mad",
]
