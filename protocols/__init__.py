"""Oversight protocols: each a short async function over injected agents and a judge, plus a config model and a
`ProtocolEntry` the experiment engine finds by name. Also importable from `oversight`."""

from protocols.direct import DIRECT, DirectConfig, direct

__all__ = ["DIRECT", "DirectConfig", "direct"]
