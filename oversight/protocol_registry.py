"""Protocols are found by name, so the core and the CLI never import a protocol module until it is used.

One door in: `register_protocol`, which the `oversight.protocols` entry points (ours and third parties') feed
lazily. A protocol is a `ProtocolEntry`: a config model, the roles it needs models for, and `run(setup)`, which
returns an `Outcome`; the runner assembles the Episode from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from oversight.counterbalance import Balance
from oversight.episode import Episode, Outcome
from oversight.models.base import Model
from oversight.plugins import PROTOCOLS_GROUP, entry_point_targets, load_target
from oversight.types import Question

C = TypeVar("C", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class EpisodeSetup:
    """What a protocol's `run` gets for one episode: the question, one model per role (role defaults applied, usage
    counted), the validated config, the seed and the counterbalancing of this (question, seed).

    `judge` describes the episode's judge when the spec's judge entry is more than a model (a `judges.JudgeEntry`:
    simulated, human, a jury, a persona); `protocols.kit.judge_for` builds from it. None: an LLM judge on the
    model bound to the "judge" role.
    """

    question: Question
    models: Mapping[str, Model]
    config: BaseModel
    seed: int = 0
    balance: Balance | None = None
    judge: object | None = None

    def model(self, role: str, *fallbacks: str) -> Model:
        """The model bound to `role`, else to the first of `fallbacks` bound; raises KeyError naming them all."""
        for name in (role, *fallbacks):
            if name in self.models:
                return self.models[name]
        raise KeyError(f"no model bound to role {' or '.join(repr(r) for r in (role, *fallbacks))}")

    def config_as(self, cls: type[C]) -> C:
        """The config, checked to be a `cls` (the runner validated it); raises TypeError otherwise."""
        if not isinstance(self.config, cls):
            raise TypeError(f"expected a {cls.__name__} config, got {type(self.config).__name__}")
        return self.config

    @property
    def model_names(self) -> dict[str, str]:
        """role -> model name."""
        return {role: m.name for role, m in self.models.items()}


ProtocolRunner = Callable[[EpisodeSetup], Awaitable[Outcome]]
#: writes data from a protocol's recorded episodes: (episodes, options) -> JSON-ready rows (`oversight export`)
Exporter = Callable[[Iterable[Episode], Mapping[str, Any]], Iterator[dict[str, Any]]]


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
    #: the kinds of judge entry it can be judged by (`oversight.judge_entry.JudgeKind`); the spec check refuses
    #: others (the pixel protocols take only sparse-pixel judges, which no other protocol can use)
    judge_kinds: tuple[str, ...] = ("model", "simulated", "human", "jury")
    #: kind -> the exporter `oversight export KIND RUN_DIR` uses on this protocol's episodes
    exports: Mapping[str, Exporter] = field(default_factory=dict)

    def roles_needed(self, config: BaseModel) -> tuple[str, ...]:
        """The roles a run with `config` needs models for."""
        return self.roles + (self.config_roles(config) if self.config_roles else ())

    @property
    def judged(self) -> bool:
        """Whether episodes of this protocol can have a judge (one episode per judge entry of a spec)."""
        return "judge" in self.roles or "judge" in self.optional_roles


#: name -> a `ProtocolEntry`, or the "module:attr" naming one (imported on first use)
_REGISTRY: dict[str, ProtocolEntry | str] = {}
_plugins_loaded = False


def register_protocol(entry: ProtocolEntry | str, target: str | None = None, *, replace: bool = False) -> None:
    """Register `entry` under its name, or (`register_protocol(name, "module:attr")`) a lazily imported entry.

    Raises ValueError when the name is taken by a different entry and `replace` is false.
    """
    if isinstance(entry, ProtocolEntry):
        if target is not None:
            raise TypeError("register_protocol(entry) takes no target")
        name, value = entry.name, entry
    elif target is not None:
        name, value = entry, target
    else:
        raise TypeError("register_protocol needs a ProtocolEntry, or a name and a 'module:attr' target")
    _load_plugins()
    old = _REGISTRY.get(name)
    if old is not None and not replace and old is not value and old != value:
        raise ValueError(f"protocol {name!r} is already registered ({_describe(old)}); pass replace=True")
    _REGISTRY[name] = value


def get_protocol(name: str) -> ProtocolEntry:
    """The entry registered as `name`, or the `ProtocolEntry` at a `"module:attr"` path.

    Raises KeyError (unknown name, listing the known ones), ImportError/AttributeError (bad path) or TypeError
    (the target is not a `ProtocolEntry`).
    """
    _load_plugins()
    value = _REGISTRY.get(name)
    if value is None:
        if ":" not in name:
            raise KeyError(f"unknown protocol {name!r} (known: {', '.join(protocol_names()) or 'none'})")
        value = name
    if isinstance(value, ProtocolEntry):
        return value
    entry = load_target(value)
    if not isinstance(entry, ProtocolEntry):
        raise TypeError(f"{value} is not a ProtocolEntry")
    if name in _REGISTRY:
        _REGISTRY[name] = entry
    return entry


def protocol_names() -> list[str]:
    """Every registered protocol name, sorted."""
    _load_plugins()
    return sorted(_REGISTRY)


def _describe(value: ProtocolEntry | str) -> str:
    return value if isinstance(value, str) else f"{value.run.__module__}.{value.run.__qualname__}"


def _load_plugins() -> None:
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for name, target in entry_point_targets(PROTOCOLS_GROUP).items():
            _REGISTRY.setdefault(name, target)


__all__ = ["EpisodeSetup", "Exporter", "ProtocolEntry", "get_protocol", "protocol_names", "register_protocol"]
