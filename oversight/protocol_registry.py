"""Protocols are found by name, so the core and the CLI never import a protocol module until it is used."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from oversight.episode import Episode
from oversight.models.base import Model
from oversight.types import Question

#: run(question, models by role, config, seed) -> Episode (id/experiment/judge fields are filled by the runner)
ProtocolRunner = Callable[[Question, Mapping[str, Model], BaseModel, int], Awaitable[Episode]]


@dataclass(frozen=True)
class ProtocolEntry:
    """A runnable protocol: its config model, the roles it needs models for, and its runner."""

    name: str
    config: type[BaseModel]
    roles: tuple[str, ...]
    run: ProtocolRunner
    optional_roles: tuple[str, ...] = field(default=())
    description: str = ""
    #: which optional roles a given config needs after all (e.g. MAD with `judge = true` needs "judge")
    config_roles: Callable[[BaseModel], tuple[str, ...]] | None = None

    def roles_needed(self, config: BaseModel) -> tuple[str, ...]:
        """The roles a run with `config` needs models for."""
        return self.roles + (self.config_roles(config) if self.config_roles else ())


#: name -> "module:attr" of a `ProtocolEntry`; protocol packages add themselves here.
PROTOCOLS: dict[str, str] = {}


def register_protocol(name: str, target: str) -> None:
    """Make protocol `name` loadable from `target` ("module:attr" naming a `ProtocolEntry`)."""
    PROTOCOLS[name] = target


def get_protocol(name: str) -> ProtocolEntry:
    """The entry for `name`; raises KeyError listing the known names."""
    target = PROTOCOLS.get(name)
    if target is None:
        raise KeyError(f"unknown protocol {name!r} (known: {', '.join(sorted(PROTOCOLS)) or 'none'})")
    module, _, attr = target.partition(":")
    entry = getattr(importlib.import_module(module), attr)
    if not isinstance(entry, ProtocolEntry):
        raise TypeError(f"{target} is not a ProtocolEntry")
    return entry


# Built-in protocols (the `protocols` package). Listed here as strings so nothing is imported until used.
PROTOCOLS.update(
    {
        "direct": "protocols.direct:DIRECT",
        "consultancy": "protocols.consultancy:CONSULTANCY",
        "debate": "protocols.debate:DEBATE",
        "mad": "protocols.mad:MAD",
    }
)
