"""Test-session setup shared by every test module."""

from oversight.protocol_registry import protocol_names, register_protocol

# The `decomposition` entry point is declared in pyproject.toml; until the environment is reinstalled from it
# (`pip install -e .`), register the same target by hand so specs can name the protocol.
if "decomposition" not in protocol_names():
    register_protocol("decomposition", "protocols.decomposition:DECOMPOSITION")
