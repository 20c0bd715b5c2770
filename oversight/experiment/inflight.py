"""How many episodes a run keeps in flight: enough to fill every endpoint the run's models call.

An episode of a sequential protocol has one call in flight at a time, so filling endpoints whose limits sum to
S calls needs about S episodes at once (a simultaneous debate needs fewer; the per-endpoint limits keep the extra
ones waiting). `concurrency = "auto"` takes that sum; a number below what the run's servers can take leaves some
of their slots idle, and the runner says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from oversight.models.limits import EndpointLimits
from oversight.models.managed import ManagedModel


def endpoint_slots(models: Iterable[ManagedModel], limits: EndpointLimits) -> dict[str, int]:
    """Endpoint -> its concurrency limit, for every endpoint the given models may call (each counted once)."""
    slots: dict[str, int] = {}
    for managed in {id(m.provider): m for m in models}.values():
        for endpoint in managed.provider.endpoints():
            slots[endpoint] = limits.limit(endpoint)
    return slots


def is_server(endpoint: str) -> bool:
    """Whether an endpoint is a server reached over HTTP (API and vLLM endpoints are base URLs; in-process
    backends are named by model or file)."""
    return endpoint.startswith(("http://", "https://"))


def episodes_in_flight(setting: int | str, slots: dict[str, int]) -> tuple[int, str | None]:
    """(episodes to keep in flight, a warning when that leaves server slots idle, else None) for the spec's
    `concurrency` setting ("auto" or a number) and `endpoint_slots`."""
    fill = max(1, sum(slots.values()))
    if setting == "auto":
        return fill, None
    n = int(setting)
    servers = {e: k for e, k in sorted(slots.items()) if is_server(e)}
    need = sum(servers.values())
    if not servers or n >= need:
        return n, None
    listed = ", ".join(f"{e} takes {k}" for e, k in servers.items())
    idle = f"at least {need - n} of their {need} call slots stay idle"
    if n < len(servers):
        idle = f"{len(servers) - n} of {len(servers)} servers get no call at all, and " + idle
    return n, (
        f"concurrency {n} keeps at most {n} episodes in flight, but the run's servers take {need} calls at once "
        f"({listed}): {idle}. Set concurrency = \"auto\" (or >= {need}) to fill them."
    )
