"""Oversight protocols: each a short async function over injected agents and a judge, plus a config model and a
`ProtocolEntry` the experiment engine finds by name (entry points `oversight.protocols`). Shared pieces for new
protocols are in `protocols.kit`. Also importable from `oversight`."""

from protocols.consultancy import CONSULTANCY, ConsultancyConfig, ConsultancyResult, consultancy
from protocols.debate import DEBATE, DebateConfig, DebateResult, debate
from protocols.decomposition import (
    DECOMPOSITION,
    DecompositionConfig,
    DecompositionResult,
    decomposition,
    grow_tree,
)
from protocols.direct import DIRECT, DirectConfig, DirectResult, direct
from protocols.ida import IDA, IDAConfig, IDAEpisodeResult
from protocols.kit import OrderedConfig, PersuasionSettings, ProtocolConfig, SpeechConfig
from protocols.mad import MAD, MADConfig, MADResult, mad
from protocols.market_making import (
    MARKET_MAKING,
    AdversarySettings,
    MarketMakingConfig,
    MarketResult,
    MarketSettings,
    market_making,
)
from protocols.rejudge import REJUDGE, RejudgeConfig, rejudge_episode

#: Aliases in the capitalised style of the architecture sketch (`from oversight import Debate`).
Debate = debate
Consultancy = consultancy
Direct = direct
Decomposition = decomposition
MultiAgentDebate = mad
MarketMaking = market_making

__all__ = [
    "IDA",
    "IDAConfig",
    "IDAEpisodeResult",
    "CONSULTANCY",
    "DEBATE",
    "DECOMPOSITION",
    "DIRECT",
    "MAD",
    "MARKET_MAKING",
    "REJUDGE",
    "AdversarySettings",
    "Consultancy",
    "ConsultancyConfig",
    "ConsultancyResult",
    "Debate",
    "DebateConfig",
    "DebateResult",
    "Decomposition",
    "DecompositionConfig",
    "DecompositionResult",
    "Direct",
    "DirectConfig",
    "DirectResult",
    "MADConfig",
    "MADResult",
    "MarketMaking",
    "MarketMakingConfig",
    "MarketResult",
    "MarketSettings",
    "MultiAgentDebate",
    "OrderedConfig",
    "PersuasionSettings",
    "ProtocolConfig",
    "RejudgeConfig",
    "SpeechConfig",
    "consultancy",
    "debate",
    "decomposition",
    "direct",
    "grow_tree",
    "mad",
    "market_making",
    "rejudge_episode",
]
