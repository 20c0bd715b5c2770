"""Test-session setup shared by every test module."""

from oversight.protocol_registry import protocol_names, register_protocol

# The `market_making` entry point is declared in pyproject.toml; until the environment is reinstalled from it
# (`pip install -e .`), register the same target by hand so specs can name the protocol. Drop this file then.
if "market_making" not in protocol_names():
    register_protocol("market_making", "protocols.market_making:MARKET_MAKING")
